;; The integer normalised-difference row kernel of index-kernels.ts (exactRow), four pixels at a time
;; with WebAssembly SIMD. scripts/gen-wasm.mjs compiles it; shared/raster/difference-rows.ts copies rows in and out.
;;
;; Memory: A's samples at 0, B's at 16384 (CHUNK 16-bit samples each), the codes at 32768 (CHUNK bytes).
;; Per pixel, exactly as exactRow does it:
;;   valid  = A ≠ nodataA  and  B ≠ nodataB  and  den > 0,  with sA = A + offset, sB = B + offset, den = sA + sB
;;   value  = f32(sA − sB) / f32(den)      (both operands below 2^24, so exact in f32: one rounding, as
;;                                          Math.fround of the double quotient — double rounding of a
;;                                          quotient from 53 to 24 bits is innocuous)
;;   code   = 1 + trunc((clamp(value, −1, 1) + 1) × 127 + 0.5) as JavaScript computes it in f64; 0 if not valid.
;;            The same f64 operations here, then floor (trunc, as the sum is positive) and the integer read
;;            off the low word of 2^52 + it (exact: below 2^52, integers are exact, and so is their sum).
;;   sum   += f64(value) for valid pixels, one pixel after another (bit-identical to the scalar loop;
;;           invalid lanes add +0, which leaves any sum but −0 unchanged, and the sum is never −0)
;;   min, max over valid values (pmin/pmax: values here are never NaN, and never −0, since sA − sB = 0
;;           gives +0).
;; Lanes at or past n are invalid: they read stale samples, add nothing and their codes are not copied out.
(module
  (memory (export "memory") 1)
  (global $sum (export "sum") (mut f64) (f64.const 0))
  (global $min (export "min") (mut f32) (f32.const inf))
  (global $max (export "max") (mut f32) (f32.const -inf))

  ;; Returns the number of valid pixels among the first n; adds them to $sum, $min, $max.
  (func (export "differenceRow") (param $n i32) (param $nodataA i32) (param $nodataB i32) (param $offset i32) (param $signed i32) (result i32)
    (local $i i32) (local $a v128) (local $b v128) (local $den v128) (local $valid v128) (local $value v128)
    (local $lo v128) (local $hi v128) (local $codes v128) (local $count v128)
    (local $vmin v128) (local $vmax v128) (local $sum f64)
    (local $lanes v128) (local $limit v128) (local $ndA v128) (local $ndB v128) (local $shift v128)
    ;; loop invariants, splatted once (V8 does not hoist them out of the loop)
    (local.set $lanes (v128.const i32x4 0 1 2 3))
    (local.set $limit (i32x4.splat (local.get $n)))
    (local.set $ndA (i32x4.splat (local.get $nodataA)))
    (local.set $ndB (i32x4.splat (local.get $nodataB)))
    (local.set $shift (i32x4.splat (local.get $offset)))
    (local.set $sum (global.get $sum))
    (local.set $vmin (f32x4.splat (global.get $min)))
    (local.set $vmax (f32x4.splat (global.get $max)))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (if (local.get $signed)
          (then
            (local.set $a (v128.load16x4_s (i32.shl (local.get $i) (i32.const 1))))
            (local.set $b (v128.load16x4_s offset=16384 (i32.shl (local.get $i) (i32.const 1)))))
          (else
            (local.set $a (v128.load16x4_u (i32.shl (local.get $i) (i32.const 1))))
            (local.set $b (v128.load16x4_u offset=16384 (i32.shl (local.get $i) (i32.const 1))))))
        ;; valid = lane < n, A ≠ nodataA, B ≠ nodataB, den > 0
        (local.set $valid (i32x4.lt_s (local.get $lanes) (local.get $limit)))
        (local.set $lanes (i32x4.add (local.get $lanes) (v128.const i32x4 4 4 4 4)))
        (local.set $valid (v128.andnot (local.get $valid) (i32x4.eq (local.get $a) (local.get $ndA))))
        (local.set $valid (v128.andnot (local.get $valid) (i32x4.eq (local.get $b) (local.get $ndB))))
        (local.set $a (i32x4.add (local.get $a) (local.get $shift)))
        (local.set $b (i32x4.add (local.get $b) (local.get $shift)))
        (local.set $den (i32x4.add (local.get $a) (local.get $b)))
        (local.set $valid (v128.and (local.get $valid) (i32x4.gt_s (local.get $den) (v128.const i32x4 0 0 0 0))))
        ;; value, +0 where not valid (a quotient by 0 there is masked away)
        (local.set $value
          (v128.and (local.get $valid)
            (f32x4.div (f32x4.convert_i32x4_s (i32x4.sub (local.get $a) (local.get $b))) (f32x4.convert_i32x4_s (local.get $den)))))
        (local.set $count (i32x4.sub (local.get $count) (local.get $valid)))
        (local.set $vmin (f32x4.pmin (local.get $vmin) (v128.bitselect (local.get $value) (v128.const f32x4 inf inf inf inf) (local.get $valid))))
        (local.set $vmax (f32x4.pmax (local.get $vmax) (v128.bitselect (local.get $value) (v128.const f32x4 -inf -inf -inf -inf) (local.get $valid))))
        ;; the sum, lane after lane
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $value)))
        (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $value) (local.get $value))))
        (local.set $sum (f64.add (local.get $sum) (f64x2.extract_lane 0 (local.get $lo))))
        (local.set $sum (f64.add (local.get $sum) (f64x2.extract_lane 1 (local.get $lo))))
        (local.set $sum (f64.add (local.get $sum) (f64x2.extract_lane 0 (local.get $hi))))
        (local.set $sum (f64.add (local.get $sum) (f64x2.extract_lane 1 (local.get $hi))))
        ;; codes: floor((clamp(value) + 1) × 127 + 0.5) in f64, read off the low word of 2^52 + that, plus 1
        (local.set $lo (f64x2.add (f64x2.mul (f64x2.add (f64x2.pmax (f64x2.pmin (local.get $lo) (v128.const f64x2 1 1)) (v128.const f64x2 -1 -1))
          (v128.const f64x2 1 1)) (v128.const f64x2 127 127)) (v128.const f64x2 0.5 0.5)))
        (local.set $lo (f64x2.add (f64x2.floor (local.get $lo)) (v128.const f64x2 0x1p52 0x1p52)))
        (local.set $hi (f64x2.add (f64x2.mul (f64x2.add (f64x2.pmax (f64x2.pmin (local.get $hi) (v128.const f64x2 1 1)) (v128.const f64x2 -1 -1))
          (v128.const f64x2 1 1)) (v128.const f64x2 127 127)) (v128.const f64x2 0.5 0.5)))
        (local.set $hi (f64x2.add (f64x2.floor (local.get $hi)) (v128.const f64x2 0x1p52 0x1p52)))
        (local.set $codes (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $lo) (local.get $hi)))
        (local.set $codes (v128.and (local.get $valid) (i32x4.add (local.get $codes) (v128.const i32x4 1 1 1 1))))
        (local.set $codes (i16x8.narrow_i32x4_u (local.get $codes) (local.get $codes)))
        (v128.store32_lane offset=32768 0 (local.get $i) (i8x16.narrow_i16x8_u (local.get $codes) (local.get $codes)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $pixels)))
    (global.set $sum (local.get $sum))
    (global.set $min (f32.min (f32.min (f32x4.extract_lane 0 (local.get $vmin)) (f32x4.extract_lane 1 (local.get $vmin)))
                              (f32.min (f32x4.extract_lane 2 (local.get $vmin)) (f32x4.extract_lane 3 (local.get $vmin)))))
    (global.set $max (f32.max (f32.max (f32x4.extract_lane 0 (local.get $vmax)) (f32x4.extract_lane 1 (local.get $vmax)))
                              (f32.max (f32x4.extract_lane 2 (local.get $vmax)) (f32x4.extract_lane 3 (local.get $vmax)))))
    (i32.add (i32.add (i32x4.extract_lane 0 (local.get $count)) (i32x4.extract_lane 1 (local.get $count)))
             (i32.add (i32x4.extract_lane 2 (local.get $count)) (i32x4.extract_lane 3 (local.get $count)))))
)
