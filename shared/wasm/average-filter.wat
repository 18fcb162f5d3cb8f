;; PNG's Average filter (type 3) and, for a strip's first row, Sub (type 1), sixteen bytes at a time with
;; WebAssembly SIMD, for 8-bit one-byte-per-pixel rows; shared/png/average-rows.ts copies rows in and out.
;;   Sub:      out[x] = row[x] − row[x − 1]
;;   Average:  out[x] = row[x] − floor((row[x − 1] + above[x]) / 2),  as (l & a) + ((l ^ a) >> 1) per byte
;; all mod 256, with row[−1] = 0: the caller keeps the byte before each row zero. The loop runs in steps
;; of 16 and may read and write up to 15 bytes past n, which the caller leaves as slack.
(module
  (memory (export "memory") 1)

  (func (export "filterRow") (param $above i32) (param $row i32) (param $out i32) (param $n i32) (param $first i32)
    (local $x i32) (local $left v128) (local $up v128) (local $predictor v128)
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_s (local.get $x) (local.get $n)))
        (local.set $left (v128.load (i32.sub (i32.add (local.get $row) (local.get $x)) (i32.const 1))))
        (if (local.get $first)
          (then (local.set $predictor (local.get $left)))
          (else
            (local.set $up (v128.load (i32.add (local.get $above) (local.get $x))))
            (local.set $predictor
              (i8x16.add (v128.and (local.get $left) (local.get $up))
                         (i8x16.shr_u (v128.xor (local.get $left) (local.get $up)) (i32.const 1))))))
        (v128.store (i32.add (local.get $out) (local.get $x))
          (i8x16.sub (v128.load (i32.add (local.get $row) (local.get $x))) (local.get $predictor)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $bytes)))
  )
)
