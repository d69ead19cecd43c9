;; The root is the guest's `/`: fd 3 is a preopen named "/" (exit 5 otherwise), and
;; greeting.txt opened relative to it is copied to stdout (exit 2 if it cannot be opened).
(module
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "greeting.txt")
  (func (export "_start")
    (if (call $dir_name (i32.const 3) (i32.const 200) (i32.const 1))
      (then (call $proc_exit (i32.const 5))))
    (if (i32.ne (i32.load8_u (i32.const 200)) (i32.const 47))
      (then (call $proc_exit (i32.const 5))))
    ;; rights: FD_READ
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 12)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 32))
      (then (call $proc_exit (i32.const 2))))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (drop (call $fd_read (i32.load (i32.const 32)) (i32.const 0) (i32.const 1) (i32.const 16)))
    (i32.store (i32.const 4) (i32.load (i32.const 16)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
