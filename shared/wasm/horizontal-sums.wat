;; Predictor 2 undone with WebAssembly SIMD: each row of 16-bit horizontal differences becomes its running
;; sum (mod 2^16, as TIFF's predictor wraps), eight samples at a time. shared/raster/horizontal-sums.ts
;; copies rows in and out.
;;
;; Memory: `rows` rows from address 0, `stride` samples apart; each row's first `n` samples are summed in
;; place, from 0 at the row's start. A row is done in whole vectors: up to 7 samples past n (within the
;; stride, which the caller keeps a multiple of 8 and at least n) are overwritten with sums of whatever
;; they held, and not read back.
;; Per vector v of eight differences, the prefix sum in three shifted adds (by one, two and four lanes),
;; then the running total so far (the previous vector's last lane, in every lane) added in.
(module
  (memory (export "memory") 4)

  (func (export "sumRows") (param $rows i32) (param $n i32) (param $stride i32)
    (local $row i32) (local $at i32) (local $end i32) (local $v v128) (local $carry v128) (local $zero v128)
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $at (i32.shl (i32.mul (local.get $row) (local.get $stride)) (i32.const 1)))
        (local.set $end (i32.add (local.get $at) (i32.shl (local.get $n) (i32.const 1))))
        (local.set $carry (local.get $zero))
        (block $vectorsDone
          (loop $vectorLoop
            (br_if $vectorsDone (i32.ge_u (local.get $at) (local.get $end)))
            (local.set $v (v128.load (local.get $at)))
            (local.set $v (i16x8.add (local.get $v)
              (i8x16.shuffle 16 17 0 1 2 3 4 5 6 7 8 9 10 11 12 13 (local.get $v) (local.get $zero))))
            (local.set $v (i16x8.add (local.get $v)
              (i8x16.shuffle 16 17 18 19 0 1 2 3 4 5 6 7 8 9 10 11 (local.get $v) (local.get $zero))))
            (local.set $v (i16x8.add (local.get $v)
              (i8x16.shuffle 16 17 18 19 20 21 22 23 0 1 2 3 4 5 6 7 (local.get $v) (local.get $zero))))
            (local.set $v (i16x8.add (local.get $v) (local.get $carry)))
            (v128.store (local.get $at) (local.get $v))
            (local.set $carry (i8x16.shuffle 14 15 14 15 14 15 14 15 14 15 14 15 14 15 14 15 (local.get $v) (local.get $v)))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $vectorLoop)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop)))
  )
)
