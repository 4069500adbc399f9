//! The bucket layout of LLVM's `OnDiskChainedHashTableGenerator`, reproduced
//! so the emitted table is byte-identical.
//!
//! Keys are inserted in order into 64 buckets; the table doubles whenever
//! `4·entries ≥ 3·buckets`; each key is prepended to its bucket's chain; a
//! resize walks the old buckets in order, each chain from its head. Before
//! emitting, the table is resized to 1 bucket for ≤ 2 entries, else to
//! `bit_ceil(entries·4/3 + 1)` buckets.

/// Buckets of a table: for each bucket, the indexes of its items, head first.
pub(crate) struct TableLayout {
    pub(crate) buckets: Vec<Vec<usize>>,
}

/// Chains are stored head-last so that prepending is a push.
fn insert(buckets: &mut [Vec<usize>], hashes: &[u64], item: usize) {
    let n = buckets.len() as u64;
    buckets[(hashes[item] & (n - 1)) as usize].push(item);
}

fn resize(buckets: Vec<Vec<usize>>, hashes: &[u64], size: usize) -> Vec<Vec<usize>> {
    let mut new = vec![Vec::new(); size];
    for chain in &buckets {
        for &item in chain.iter().rev() {
            insert(&mut new, hashes, item);
        }
    }
    new
}

/// Lays out items with the given key hashes, inserted in index order.
pub(crate) fn layout(hashes: &[u64]) -> TableLayout {
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); 64];
    for (item, _) in hashes.iter().enumerate() {
        let entries = item + 1;
        if 4 * entries >= 3 * buckets.len() {
            let size = buckets.len() * 2;
            buckets = resize(buckets, hashes, size);
        }
        insert(&mut buckets, hashes, item);
    }
    let n = hashes.len();
    let target = if n <= 2 {
        1
    } else {
        (n * 4 / 3 + 1).next_power_of_two()
    };
    if target != buckets.len() {
        buckets = resize(buckets, hashes, target);
    }
    for chain in &mut buckets {
        chain.reverse();
    }
    TableLayout { buckets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tables_use_one_bucket() {
        let l = layout(&[5, 9]);
        assert_eq!(l.buckets, vec![vec![1, 0]]);
        assert_eq!(layout(&[]).buckets.len(), 1);
    }

    #[test]
    fn sizes_follow_the_occupancy_rule() {
        let hashes: Vec<u64> = (0..100).map(|i| i * 0x9e37_79b9).collect();
        let l = layout(&hashes);
        assert_eq!(l.buckets.len(), 256); // bit_ceil(100*4/3+1 = 134)
        let total: usize = l.buckets.iter().map(Vec::len).sum();
        assert_eq!(total, 100);
        for (b, chain) in l.buckets.iter().enumerate() {
            assert!(chain.iter().all(|&i| hashes[i] as usize & 255 == b));
        }
    }
}
