;; Never ends: the runner must stop it at --timeout-ms and fail it.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))
