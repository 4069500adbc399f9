//! libstdc++'s `std::sort` (introsort), reproduced step for step.
//!
//! `llvm-profdata` sorts value-profile sites by target value with `llvm::sort`,
//! which is `std::sort`: not stable. Within one site two targets can share a
//! value (several uninstrumented functions all map to `0`), and then the order
//! the unstable sort leaves them in decides which counts are summed together
//! on the next merge. To produce the same bytes as LLVM we must leave equal
//! elements exactly where libstdc++ leaves them, so this is a faithful port of
//! `bits/stl_algo.h` / `bits/stl_heap.h` (GCC 12–15): `__introsort_loop` with
//! the `2·⌊log2 n⌋` depth limit, median-of-three pivot moved to the front,
//! the unguarded Hoare partition, heap sort as the fallback, and the final
//! insertion sort with the 16-element threshold.

/// Below this many elements introsort stops partitioning (libstdc++'s `_S_threshold`).
const THRESHOLD: usize = 16;

/// Sorts `v` by the strict weak order `less`, permuting equal elements exactly
/// as libstdc++'s `std::sort` does.
pub(crate) fn sort_by<T: Copy, F: Fn(&T, &T) -> bool>(v: &mut [T], less: F) {
    let n = v.len();
    if n == 0 {
        return;
    }
    let depth = 2 * (usize::BITS - 1 - n.leading_zeros()) as usize;
    introsort_loop(v, 0, n, depth, &less);
    final_insertion_sort(v, &less);
}

fn introsort_loop<T: Copy, F: Fn(&T, &T) -> bool>(
    v: &mut [T],
    first: usize,
    mut last: usize,
    mut depth: usize,
    less: &F,
) {
    while last - first > THRESHOLD {
        if depth == 0 {
            heap_sort(&mut v[first..last], less);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(v, first, last, less);
        introsort_loop(v, cut, last, depth, less);
        last = cut;
    }
}

fn partition_pivot<T: Copy, F: Fn(&T, &T) -> bool>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: &F,
) -> usize {
    let mid = first + (last - first) / 2;
    move_median_to_first(v, first, first + 1, mid, last - 1, less);
    unguarded_partition(v, first + 1, last, first, less)
}

fn move_median_to_first<T: Copy, F: Fn(&T, &T) -> bool>(
    v: &mut [T],
    result: usize,
    a: usize,
    b: usize,
    c: usize,
    less: &F,
) {
    let pick = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(result, pick);
}

fn unguarded_partition<T: Copy, F: Fn(&T, &T) -> bool>(
    v: &mut [T],
    mut first: usize,
    mut last: usize,
    pivot: usize,
    less: &F,
) -> usize {
    loop {
        // The pivot sits before `first` and a median-of-three guarantees an
        // element on each side that stops these scans; the bounds checks only
        // matter for a comparator that is not a strict weak order.
        while first < v.len() && less(&v[first], &v[pivot]) {
            first += 1;
        }
        last -= 1;
        while last > 0 && less(&v[pivot], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn final_insertion_sort<T: Copy, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    if v.len() > THRESHOLD {
        insertion_sort(&mut v[..THRESHOLD], less);
        for i in THRESHOLD..v.len() {
            unguarded_linear_insert(v, i, less);
        }
    } else {
        insertion_sort(v, less);
    }
}

fn insertion_sort<T: Copy, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    for i in 1..v.len() {
        if less(&v[i], &v[0]) {
            let val = v[i];
            v.copy_within(0..i, 1);
            v[0] = val;
        } else {
            unguarded_linear_insert(v, i, less);
        }
    }
}

fn unguarded_linear_insert<T: Copy, F: Fn(&T, &T) -> bool>(v: &mut [T], mut last: usize, less: &F) {
    let val = v[last];
    while last > 0 && less(&val, &v[last - 1]) {
        v[last] = v[last - 1];
        last -= 1;
    }
    v[last] = val;
}

/// `std::__partial_sort(first, last, last)`: `make_heap` then `sort_heap`.
fn heap_sort<T: Copy, F: Fn(&T, &T) -> bool>(s: &mut [T], less: &F) {
    let len = s.len();
    if len >= 2 {
        let mut parent = (len - 2) / 2;
        loop {
            let value = s[parent];
            adjust_heap(s, parent, len, value, less);
            if parent == 0 {
                break;
            }
            parent -= 1;
        }
    }
    let mut last = len;
    while last > 1 {
        last -= 1;
        let value = s[last];
        s[last] = s[0];
        adjust_heap(s, 0, last, value, less);
    }
}

fn adjust_heap<T: Copy, F: Fn(&T, &T) -> bool>(
    s: &mut [T],
    mut hole: usize,
    len: usize,
    value: T,
    less: &F,
) {
    let top = hole;
    let mut second = hole;
    while second < (len - 1) / 2 {
        second = 2 * (second + 1);
        if less(&s[second], &s[second - 1]) {
            second -= 1;
        }
        s[hole] = s[second];
        hole = second;
    }
    if len & 1 == 0 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        s[hole] = s[second - 1];
        hole = second - 1;
    }
    // __push_heap
    while hole > top {
        let parent = (hole - 1) / 2;
        if !less(&s[parent], &value) {
            break;
        }
        s[hole] = s[parent];
        hole = parent;
    }
    s[hole] = value;
}

#[cfg(test)]
mod tests {
    use super::sort_by;

    /// A deterministic xorshift generator, so the tests need no extra crate.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn sorts_like_a_sort() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for len in 0..300 {
            let mut v: Vec<(u64, usize)> = (0..len).map(|i| (next(&mut seed) % 7, i)).collect();
            let mut expect: Vec<u64> = v.iter().map(|p| p.0).collect();
            expect.sort();
            sort_by(&mut v, |a, b| a.0 < b.0);
            assert_eq!(
                v.iter().map(|p| p.0).collect::<Vec<_>>(),
                expect,
                "len {len}"
            );
            let mut tags: Vec<usize> = v.iter().map(|p| p.1).collect();
            tags.sort();
            assert_eq!(tags, (0..len).collect::<Vec<_>>());
        }
    }

    #[test]
    fn heap_fallback_is_used_and_sorts() {
        // Many equal keys with a killer pattern drive the depth limit to zero.
        let mut v: Vec<(u64, usize)> = (0..4096).map(|i| ((i % 3) as u64, i)).collect();
        sort_by(&mut v, |a, b| a.0 < b.0);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    /// Orders of equal keys recorded from libstdc++ 14 (`std::sort` on
    /// `pair<key, tag>` comparing keys only), for inputs of 20 and 40 elements.
    #[test]
    fn matches_libstdcxx_on_equal_keys() {
        for (input, expect) in super::golden::CASES {
            let mut v: Vec<(u64, usize)> = input.iter().enumerate().map(|(i, &k)| (k, i)).collect();
            sort_by(&mut v, |a, b| a.0 < b.0);
            let got: Vec<usize> = v.iter().map(|p| p.1).collect();
            assert_eq!(&got[..], *expect);
        }
    }
}

#[cfg(test)]
#[path = "cxx_sort_golden.rs"]
mod golden;
