//! Merging profile files: expanding the inputs, parsing them on all cores
//! while merging in input order, llvm-profdata's grouping of inputs by
//! thread, and writing the result atomically.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use anyhow::{bail, Context};

use super::error::FormatError;
use super::merge::MergedProfile;
use super::names::NameCache;
use super::{add, load_bytes, Loaded};

/// How to merge.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MergeOptions {
    /// Reproduce `llvm-profdata merge --num-threads=N`. `None` reproduces its
    /// default, `min(CPUs, (inputs + 1) / 2)`.
    ///
    /// llvm-profdata merges the inputs round-robin into N partial profiles and
    /// then merges those pairwise. The grouping only shows when one value site
    /// holds several targets outside the profile (all recorded as value 0):
    /// which of their counts are added together depends on it. `Some(1)` gives
    /// an output that does not depend on the machine.
    pub num_threads: Option<usize>,
}

impl MergeOptions {
    /// Options reproducing `llvm-profdata merge --num-threads=n`.
    pub fn num_threads(n: usize) -> Self {
        MergeOptions {
            num_threads: Some(n.max(1)),
        }
    }
}

/// The number of CPUs llvm's `hardware_concurrency()` sees: the affinity mask.
fn hardware_threads() -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `set` is a plain bitmask that sched_getaffinity fills in;
        // the size passed is its own.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
                let n = libc::CPU_COUNT(&set);
                if n > 0 {
                    return n as usize;
                }
            }
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What a merge did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MergeReport {
    /// Input files merged.
    pub inputs: usize,
    /// Of which empty (a run killed before writing; skipped, like llvm-profdata).
    pub empty_inputs: usize,
    /// Function records read from all inputs.
    pub records_read: u64,
    /// Distinct function names in the output.
    pub functions: usize,
    /// (name, hash) records in the output.
    pub records: usize,
    /// The file written.
    pub output: PathBuf,
    /// Its size.
    pub output_bytes: u64,
    /// Merge warnings (counter mismatches, overflows), one line per kind.
    pub warnings: Vec<String>,
}

impl fmt::Display for MergeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "merged {} profile{} ({} records) into {}: {} functions, {} records, {} bytes",
            self.inputs,
            if self.inputs == 1 { "" } else { "s" },
            self.records_read,
            self.output.display(),
            self.functions,
            self.records,
            self.output_bytes
        )?;
        if self.empty_inputs > 0 {
            write!(f, " ({} empty input(s) skipped)", self.empty_inputs)?;
        }
        Ok(())
    }
}

/// Expands the inputs: files as given, directories searched recursively for
/// `*.profraw` (sorted by path).
pub fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let path = entry.path();
            // `file_type` does not follow symlinks, so a link cycle cannot recurse forever.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "profraw") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input)
            .with_context(|| format!("input profile {} does not exist", input.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            if found.is_empty() {
                bail!(
                    "no .profraw files in {}; run the instrumented binary first",
                    input.display()
                );
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        bail!("no input profiles given");
    }
    Ok(files)
}

/// Merges `.profraw` files (and directories of them, or earlier indexed
/// profiles) into an indexed profile at `output`, as `llvm-profdata merge`
/// would. Inputs are parsed on all cores and merged in the given order. The
/// output is written to a temporary file and renamed, so a failed merge
/// leaves no partial file.
pub fn merge_files(inputs: &[PathBuf], output: &Path) -> anyhow::Result<MergeReport> {
    merge_files_with(inputs, output, &MergeOptions::default())
}

/// [`merge_files`] with options.
pub fn merge_files_with(
    inputs: &[PathBuf],
    output: &Path,
    options: &MergeOptions,
) -> anyhow::Result<MergeReport> {
    let files = collect_inputs(inputs)?;
    let cache = NameCache::default();
    let groups = options
        .num_threads
        .unwrap_or_else(|| hardware_threads().min(files.len().div_ceil(2)))
        .clamp(1, files.len());
    let mut contexts: Vec<MergedProfile> = (0..groups).map(|_| MergedProfile::default()).collect();
    let empty_inputs = merge_in_order(&files, &cache, &mut contexts)?;
    let merger = combine(contexts).context("cannot merge the partial profiles")?;
    let bytes = merger.write().context("cannot write the merged profile")?;
    write_atomically(output, &bytes)?;
    let (functions, records) = merger.sizes();
    Ok(MergeReport {
        inputs: files.len(),
        empty_inputs,
        records_read: merger.records_read,
        functions,
        records,
        output: output.to_path_buf(),
        output_bytes: bytes.len() as u64,
        warnings: merger.warnings(),
    })
}

fn load_file(path: &Path, cache: &NameCache) -> anyhow::Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    load_bytes(&bytes, cache).with_context(|| format!("invalid profile {}", path.display()))
}

struct Pipeline {
    state: Mutex<PipelineState>,
    ready: Condvar,
}

struct PipelineState {
    /// Loaded files waiting to be merged, by input index.
    loaded: Vec<Option<anyhow::Result<Loaded>>>,
    /// The next input index to merge.
    merged: usize,
    /// Set when the merge failed: workers stop.
    abort: bool,
}

/// llvm-profdata's final step: contexts merged pairwise, `[i] ← [i + mid]`,
/// plus `[0] ← [end - 1]` when the count is odd, until one is left.
fn combine(mut contexts: Vec<MergedProfile>) -> Result<MergedProfile, FormatError> {
    let mut end = contexts.len();
    let mut mid = end / 2;
    while mid > 0 {
        for i in 0..mid {
            let src = std::mem::take(&mut contexts[i + mid]);
            contexts[i].absorb(src)?;
        }
        if end & 1 == 1 {
            let src = std::mem::take(&mut contexts[end - 1]);
            contexts[0].absorb(src)?;
        }
        end = mid;
        mid /= 2;
    }
    Ok(contexts.swap_remove(0))
}

/// Parses files on worker threads (at most a window ahead) while this thread
/// merges file `i` into `contexts[i % len]`, in order, so the result does not
/// depend on scheduling.
fn merge_in_order(
    files: &[PathBuf],
    cache: &NameCache,
    contexts: &mut [MergedProfile],
) -> anyhow::Result<usize> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    let window = 4 * workers;
    let pipe = Pipeline {
        state: Mutex::new(PipelineState {
            loaded: (0..files.len()).map(|_| None).collect(),
            merged: 0,
            abort: false,
        }),
        ready: Condvar::new(),
    };
    let next_job = AtomicUsize::new(0);
    let mut empty = 0;
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next_job.fetch_add(1, Ordering::Relaxed);
                if i >= files.len() {
                    return;
                }
                {
                    let mut st = pipe.state.lock().expect("pipeline");
                    while i >= st.merged + window && !st.abort {
                        st = pipe.ready.wait(st).expect("pipeline");
                    }
                    if st.abort {
                        return;
                    }
                }
                let loaded = load_file(&files[i], cache);
                pipe.state.lock().expect("pipeline").loaded[i] = Some(loaded);
                pipe.ready.notify_all();
            });
        }
        let result = (|| {
            for (i, path) in files.iter().enumerate() {
                let loaded = {
                    let mut st = pipe.state.lock().expect("pipeline");
                    loop {
                        if let Some(l) = st.loaded[i].take() {
                            break l;
                        }
                        st = pipe.ready.wait(st).expect("pipeline");
                    }
                };
                let source = path.display().to_string();
                let merger = &mut contexts[i % contexts.len()];
                if add(merger, loaded?, &source)
                    .with_context(|| format!("cannot merge {source}"))?
                {
                    empty += 1;
                }
                pipe.state.lock().expect("pipeline").merged = i + 1;
                pipe.ready.notify_all();
            }
            anyhow::Ok(())
        })();
        if result.is_err() {
            pipe.state.lock().expect("pipeline").abort = true;
            pipe.ready.notify_all();
        }
        result
    })?;
    Ok(empty)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".profdata-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    // A temporary file is private (0600); the profile is an ordinary output.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
