;; Writes into its root: creates new.txt in the preopen "/" with O_CREAT|O_EXCL (exit 2 if it
;; exists or cannot be created, 3 if the write fails) and prints "created\n". It passes only
;; where every run starts from a fresh copy of the root, which the corpus never gets written to.
(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "new.txt")
  (data (i32.const 96) "created\0a")
  (func (export "_start")
    ;; oflags CREAT|EXCL, rights FD_WRITE
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 7)
          (i32.const 5) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 32))
      (then (call $proc_exit (i32.const 2))))
    (i32.store (i32.const 0) (i32.const 96))
    (i32.store (i32.const 4) (i32.const 8))
    (if (call $fd_write (i32.load (i32.const 32)) (i32.const 0) (i32.const 1) (i32.const 16))
      (then (call $proc_exit (i32.const 3))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
