;; Hamming distance kernel for packed binary codes, compiled to
;; popcount-wasm.ts by compile-kernel.ts. Codes are rows of `words` 64-bit
;; words, or of one 32-bit word when `words` is 0; distances are written as u16 and counted in a
;; histogram of u32 bins so the caller can pick a top-k threshold.
(module
  (memory (export "memory") 1)

  ;; Writes the distance from the query at $query to each of $count codes at
  ;; $codes into u16 $out[i] and adds one to u32 $hist[distance].
  (func (export "scan")
    (param $query i32) (param $codes i32) (param $count i32) (param $words i32)
    (param $out i32) (param $hist i32)
    (local $i i32) (local $w i32) (local $code i32) (local $distance i32) (local $q0 i64) (local $slot i32)
    (local.set $code (local.get $codes))
    (if (i32.eqz (local.get $words))
      (then
        (local.set $slot (i32.load (local.get $query)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
            (local.set $distance (i32.popcnt (i32.xor (local.get $slot) (i32.load (local.get $code)))))
            (i32.store16 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 1))) (local.get $distance))
            (local.set $w (i32.add (local.get $hist) (i32.shl (local.get $distance) (i32.const 2))))
            (i32.store (local.get $w) (i32.add (i32.load (local.get $w)) (i32.const 1)))
            (local.set $code (i32.add (local.get $code) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (return)))
    (if (i32.eq (local.get $words) (i32.const 1))
      (then
        (local.set $q0 (i64.load (local.get $query)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
            (local.set $distance
              (i32.wrap_i64 (i64.popcnt (i64.xor (local.get $q0) (i64.load (local.get $code))))))
            (i32.store16 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 1))) (local.get $distance))
            (local.set $slot (i32.add (local.get $hist) (i32.shl (local.get $distance) (i32.const 2))))
            (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
            (local.set $code (i32.add (local.get $code) (i32.const 8)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next))))
      (else
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
            (local.set $distance (i32.const 0))
            (local.set $w (i32.const 0))
            (block $wordsDone
              (loop $word
                (br_if $wordsDone (i32.ge_u (local.get $w) (local.get $words)))
                (local.set $distance
                  (i32.add (local.get $distance)
                    (i32.wrap_i64
                      (i64.popcnt
                        (i64.xor
                          (i64.load (i32.add (local.get $query) (i32.shl (local.get $w) (i32.const 3))))
                          (i64.load (local.get $code)))))))
                (local.set $code (i32.add (local.get $code) (i32.const 8)))
                (local.set $w (i32.add (local.get $w) (i32.const 1)))
                (br $word)))
            (i32.store16 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 1))) (local.get $distance))
            (local.set $slot (i32.add (local.get $hist) (i32.shl (local.get $distance) (i32.const 2))))
            (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next))))))

  ;; Writes the row numbers i with u16 $distances[i] <= $threshold to u32
  ;; $out, in increasing order, and returns how many it wrote.
  (func (export "collect")
    (param $distances i32) (param $count i32) (param $threshold i32) (param $out i32)
    (result i32)
    (local $i i32) (local $written i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (if (i32.le_u (i32.load16_u (i32.add (local.get $distances) (i32.shl (local.get $i) (i32.const 1)))) (local.get $threshold))
          (then
            (i32.store (i32.add (local.get $out) (i32.shl (local.get $written) (i32.const 2))) (local.get $i))
            (local.set $written (i32.add (local.get $written) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $written))

  ;; Returns the distance between the codes at $query and $code.
  (func $distance (param $query i32) (param $code i32) (param $words i32) (result i32)
    (local $w i32) (local $d i32)
    (if (i32.eqz (local.get $words))
      (then (return (i32.popcnt (i32.xor (i32.load (local.get $query)) (i32.load (local.get $code)))))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $w) (local.get $words)))
        (local.set $d
          (i32.add (local.get $d)
            (i32.wrap_i64
              (i64.popcnt
                (i64.xor
                  (i64.load (i32.add (local.get $query) (i32.shl (local.get $w) (i32.const 3))))
                  (i64.load (i32.add (local.get $code) (i32.shl (local.get $w) (i32.const 3)))))))))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $next)))
    (local.get $d))

  ;; Scans $count codes once for the $k nearest. Keeps u32 $counts[d] of the
  ;; rows collected at each distance and a threshold $t, starting at
  ;; $threshold, lowered while the rows under it already number $k. Rows with
  ;; distance <= $t when visited go to u32 $outRows and u16 $outDistances.
  ;; Returns how many were written and stores the final $t at $thresholdOut;
  ;; the k nearest are among the written rows with distance <= that value.
  ;; $counts must be zero for distances 0 to $threshold.
  (func (export "topk")
    (param $query i32) (param $codes i32) (param $count i32) (param $words i32) (param $k i32)
    (param $threshold i32) (param $counts i32) (param $outRows i32) (param $outDistances i32)
    (param $thresholdOut i32)
    (result i32)
    (local $i i32) (local $d i32) (local $t i32) (local $total i32) (local $written i32)
    (local $rowBytes i32) (local $code i32) (local $q0 i64) (local $slot i32) (local $binCount i32)
    (local.set $t (local.get $threshold))
    (local.set $rowBytes (i32.shl (local.get $words) (i32.const 3)))
    (if (i32.eqz (local.get $words)) (then (local.set $rowBytes (i32.const 4))))
    (local.set $q0 (i64.load (local.get $query)))
    (local.set $code (local.get $codes))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (if (i32.eq (local.get $words) (i32.const 1))
          (then (local.set $d (i32.wrap_i64 (i64.popcnt (i64.xor (local.get $q0) (i64.load (local.get $code)))))))
          (else (local.set $d (call $distance (local.get $query) (local.get $code) (local.get $words)))))
        (if (i32.le_u (local.get $d) (local.get $t))
          (then
            (i32.store (i32.add (local.get $outRows) (i32.shl (local.get $written) (i32.const 2))) (local.get $i))
            (i32.store16 (i32.add (local.get $outDistances) (i32.shl (local.get $written) (i32.const 1))) (local.get $d))
            (local.set $written (i32.add (local.get $written) (i32.const 1)))
            (local.set $slot (i32.add (local.get $counts) (i32.shl (local.get $d) (i32.const 2))))
            (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
            (local.set $total (i32.add (local.get $total) (i32.const 1)))
            (block $shrunk
              (loop $shrink
                (local.set $binCount (i32.load (i32.add (local.get $counts) (i32.shl (local.get $t) (i32.const 2)))))
                (br_if $shrunk (i32.lt_s (i32.sub (local.get $total) (local.get $binCount)) (local.get $k)))
                (local.set $total (i32.sub (local.get $total) (local.get $binCount)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $shrink)))))
        (local.set $code (i32.add (local.get $code) (local.get $rowBytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $thresholdOut) (local.get $t))
    (local.get $written))
)
