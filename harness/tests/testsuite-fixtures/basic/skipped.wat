;; Traps at once: if the expectation file's skip were ignored, this would fail.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
