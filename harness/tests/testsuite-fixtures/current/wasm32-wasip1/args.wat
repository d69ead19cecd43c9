;; Prints argv[1..], one per line (argv[0] is left out: runtimes disagree on it).
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $end i32) (local $i i32) (local $start i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (local.set $end (i32.add (i32.const 4096) (i32.load (i32.const 4))))
    ;; argv[1] starts where argv[0] ends; none: nothing to print.
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2)) (then (return)))
    (local.set $start (i32.load (i32.const 1028)))
    (local.set $i (local.get $start))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then (i32.store8 (local.get $i) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 8) (local.get $start))
    (i32.store (i32.const 12) (i32.sub (local.get $end) (local.get $start)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))
