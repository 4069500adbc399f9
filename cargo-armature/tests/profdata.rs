//! profdata: the built-in merger against llvm-profdata (of rustc's LLVM) on fixture
//! programs compiled here with `rustc -Cprofile-generate`, rustc's acceptance
//! of the result, and the reader's behaviour on corrupt input.
//!
//! Needs `rustc` (with the profiler runtime rustup ships) and llvm-profdata of its
//! LLVM (`apt-get install llvm-22`, or set `LLVM_PROFDATA`). Without them the tests
//! fail with a message saying so; they are never skipped. The fixture build is
//! kept under `target/tmp/profdata-fixture-<pid>` for inspection.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use cargo_armature::profdata::{
    self, merge_bytes, merge_files, merge_files_with, parse_indexed, parse_raw, ErrorKind,
    MergeOptions, ShowOptions,
};
use cargo_armature::toolchain;

// ---------------------------------------------------------------- support

/// The llvm-profdata of rustc's LLVM, found as `cargo armature pgo` finds it
/// (`$LLVM_PROFDATA`, rustup's llvm-tools, `llvm-profdata-<major>` on PATH, ...).
fn llvm_profdata() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let rustc = toolchain::RustcInfo::detect().expect("rustc -vV");
            let found = toolchain::find_llvm_profdata(&rustc);
            match found.usable {
                Some(tool) => tool.path,
                None => panic!(
                    "these tests compare against llvm-profdata: {}",
                    found.install_hint(&rustc)
                ),
            }
        })
        .clone()
}

fn describe(cmd: &Command) -> String {
    format!("{cmd:?}")
}

/// Runs `cmd`, panicking with its full output unless it succeeds.
fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", describe(cmd)));
    assert!(
        out.status.success(),
        "{} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        describe(cmd),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn llvm(args: &[&std::ffi::OsStr]) -> Output {
    run_ok(Command::new(llvm_profdata()).args(args))
}

fn text_dump(profile: &Path) -> String {
    let out = llvm(&[
        "merge".as_ref(),
        "--text".as_ref(),
        "-o".as_ref(),
        "-".as_ref(),
        profile.as_os_str(),
    ]);
    String::from_utf8(out.stdout).expect("utf-8 text profile")
}

fn llvm_merge(inputs: &[PathBuf], threads: Option<usize>, out: &Path) {
    let mut cmd = Command::new(llvm_profdata());
    cmd.arg("merge").arg("-o").arg(out);
    if let Some(t) = threads {
        cmd.arg(format!("--num-threads={t}"));
    }
    run_ok(cmd.args(inputs));
}

/// The fixture: two builds of one crate (`--cfg variant` changes a
/// function's control flow), several runs of each, and an empty profraw.
struct Corpus {
    dir: PathBuf,
    src: PathBuf,
    runs_a: Vec<PathBuf>,
    runs_b: Vec<PathBuf>,
    empty: PathBuf,
}

const COMMON_FLAGS: &[&str] = &[
    "-O",
    "-Ccodegen-units=1",
    "--crate-name",
    "app",
    "--edition",
    "2021",
];

impl Corpus {
    fn all(&self) -> Vec<PathBuf> {
        let mut v = self.runs_a.clone();
        v.extend(self.runs_b.iter().cloned());
        v.push(self.empty.clone());
        v
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(build_corpus)
}

fn build_corpus() -> Corpus {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = base.join(format!("profdata-fixture-{}", std::process::id()));
    // Earlier runs' fixtures: keep only this run's.
    if let Ok(entries) = std::fs::read_dir(base) {
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with("profdata-fixture-") && e.path() != dir {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/profdata/app.rs");
    let runs = |variant: bool, tag: &str, args: &[(u32, u32)]| -> Vec<PathBuf> {
        let raw_dir = dir.join(format!("raw-{tag}"));
        let exe = dir.join(format!("app-{tag}"));
        let mut cmd = Command::new("rustc");
        cmd.args(COMMON_FLAGS)
            .arg(format!("-Cprofile-generate={}", raw_dir.display()));
        if variant {
            cmd.args(["--cfg", "variant"]);
        }
        run_ok(cmd.arg(&src).arg("-o").arg(&exe));
        args.iter()
            .enumerate()
            .map(|(k, (n, seed))| {
                let file = raw_dir.join(format!("{tag}{k}.profraw"));
                run_ok(
                    Command::new(&exe)
                        .args([n.to_string(), seed.to_string()])
                        .env("LLVM_PROFILE_FILE", &file),
                );
                file
            })
            .collect()
    };
    let runs_a = runs(
        false,
        "a",
        &[(60, 1), (300, 2), (1000, 3), (77, 5), (450, 6), (20, 9)],
    );
    let runs_b = runs(true, "b", &[(200, 7), (900, 4)]);
    let empty = dir.join("raw-a/empty.profraw");
    std::fs::write(&empty, b"").unwrap();
    Corpus {
        dir,
        src,
        runs_a,
        runs_b,
        empty,
    }
}

fn assert_same_bytes(ours: &Path, reference: &Path, what: &str) {
    let (a, b) = (
        std::fs::read(ours).unwrap(),
        std::fs::read(reference).unwrap(),
    );
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let (ta, tb) = (text_dump(ours), text_dump(reference));
        let diff: Vec<String> = ta
            .lines()
            .zip(tb.lines())
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .take(10)
            .map(|(i, (x, y))| format!("line {}: ours {x:?} llvm {y:?}", i + 1))
            .collect();
        panic!(
            "{what}: {} differs from llvm-profdata's {} ({} vs {} bytes, first difference at byte {at}); \
             text dumps {}:\n{}",
            ours.display(),
            reference.display(),
            a.len(),
            b.len(),
            if ta == tb { "are equal" } else { "differ" },
            diff.join("\n")
        );
    }
}

// ---------------------------------------------------------------- byte-for-byte

#[test]
fn merges_are_byte_identical_to_llvm_profdata() {
    let c = corpus();
    let two_builds: Vec<PathBuf> = c.runs_a.iter().chain(&c.runs_b).cloned().collect();
    // Two runs concatenated: a .profraw may hold several profiles.
    let concatenated = c.out("concatenated.profraw");
    let mut both = std::fs::read(&c.runs_a[1]).unwrap();
    both.extend(std::fs::read(&c.runs_b[1]).unwrap());
    std::fs::write(&concatenated, both).unwrap();
    // A record whose counter count changed: llvm-profdata warns and keeps the first.
    let shrunk = c.out("shrunk.profraw");
    let mut b = std::fs::read(&c.runs_a[1]).unwrap();
    let (data, _) = raw_layout(&b);
    let rec = (0..u64_at(&b, 24) as usize)
        .map(|i| data + 64 * i)
        .find(|&r| u32::from_le_bytes(b[r + 48..r + 52].try_into().unwrap()) >= 2)
        .expect("a record with two counters");
    b[rec + 48] -= 1;
    std::fs::write(&shrunk, &b).unwrap();
    let cases: &[(&str, Vec<PathBuf>, Option<usize>)] = &[
        (
            "a counter-count mismatch",
            vec![c.runs_a[0].clone(), shrunk, c.runs_a[2].clone()],
            Some(1),
        ),
        ("one run", vec![c.runs_a[0].clone()], None),
        (
            "two profiles in one file",
            vec![concatenated, c.runs_a[2].clone()],
            None,
        ),
        ("several runs", c.runs_a.clone(), None),
        (
            "two builds, one name with two hashes",
            two_builds.clone(),
            None,
        ),
        ("all inputs with an empty profraw", c.all(), None),
        ("--num-threads=1", c.all(), Some(1)),
        ("--num-threads=2", c.all(), Some(2)),
        ("--num-threads=3", two_builds, Some(3)),
    ];
    for (i, (what, inputs, threads)) in cases.iter().enumerate() {
        let (ours, reference) = (
            c.out(&format!("ours-{i}.profdata")),
            c.out(&format!("llvm-{i}.profdata")),
        );
        llvm_merge(inputs, *threads, &reference);
        let options = match threads {
            Some(t) => MergeOptions::num_threads(*t),
            None => MergeOptions::default(),
        };
        let report = merge_files_with(inputs, &ours, &options).unwrap();
        assert_eq!(report.inputs, inputs.len());
        if what.contains("mismatch") {
            assert!(
                report
                    .warnings
                    .iter()
                    .any(|w| w.contains("counter mismatch")),
                "{:?}",
                report.warnings
            );
        }
        assert_same_bytes(&ours, &reference, what);
    }
}

#[test]
fn directory_inputs_are_the_sorted_profraws_inside() {
    let c = corpus();
    let raw_a = c.runs_a[0].parent().unwrap().to_path_buf();
    let (by_dir, by_files) = (c.out("dir.profdata"), c.out("files.profdata"));
    let report = merge_files(&[raw_a], &by_dir).unwrap();
    let mut files = c.runs_a.clone();
    files.push(c.empty.clone());
    files.sort();
    merge_files(&files, &by_files).unwrap();
    assert_eq!(
        std::fs::read(&by_dir).unwrap(),
        std::fs::read(&by_files).unwrap()
    );
    assert_eq!(
        (report.inputs, report.empty_inputs),
        (c.runs_a.len() + 1, 1)
    );
}

#[test]
fn indexed_inputs_merge_like_llvm_profdata() {
    // An earlier .profdata merged with new runs, one input after another.
    let c = corpus();
    let first = c.out("first.profdata");
    llvm_merge(&c.runs_a, Some(1), &first);
    let inputs = vec![first, c.runs_b[0].clone(), c.runs_a[1].clone()];
    let (ours, reference) = (
        c.out("with-indexed.profdata"),
        c.out("with-indexed-llvm.profdata"),
    );
    llvm_merge(&inputs, Some(1), &reference);
    merge_files_with(&inputs, &ours, &MergeOptions::num_threads(1)).unwrap();
    assert_same_bytes(&ours, &reference, "indexed + raw inputs");
}

/// The corpus must keep exercising what the byte-identity test claims to cover.
#[test]
fn fixture_covers_the_interesting_cases() {
    let c = corpus();
    let merged = c.out("coverage.profdata");
    merge_files(&c.all(), &merged).unwrap();
    let p = profdata::read_indexed(&merged).unwrap();
    let mut names: Vec<&[u8]> = p.functions.iter().map(|f| &f.name[..]).collect();
    names.sort();
    assert!(
        names.windows(2).any(|w| w[0] == w[1]),
        "no name with two hashes"
    );
    let all_zero = p
        .functions
        .iter()
        .find(|f| f.name_str().contains("never_called"))
        .expect("never_called kept");
    assert!(all_zero.record.counts.iter().all(|&c| c == 0));
    let ic = |f: &&profdata::Function| f.record.value_sites[profdata::KIND_INDIRECT_CALL].clone();
    let sites: Vec<_> = p.functions.iter().flat_map(|f| ic(&f)).collect();
    assert!(
        sites
            .iter()
            .any(|s| s.iter().filter(|v| v.value == 0).count() >= 2),
        "no site with two unknown targets"
    );
    assert!(
        sites.iter().any(|s| s.len() > 16),
        "no site long enough for introsort"
    );
    assert!(
        sites.iter().any(|s| s.len() >= 3),
        "no dynamic-dispatch site with several targets"
    );
    let memop = p
        .functions
        .iter()
        .flat_map(|f| f.record.value_sites[profdata::KIND_MEMOP_SIZE].clone());
    assert!(
        memop.into_iter().any(|s| s.len() > 1),
        "no variable-size memcpy"
    );
}

// ---------------------------------------------------------------- semantic checks

#[test]
fn llvm_profdata_reads_our_output_as_equal() {
    let c = corpus();
    let (ours, reference) = (c.out("sem-ours.profdata"), c.out("sem-llvm.profdata"));
    let inputs = c.all();
    llvm_merge(&inputs, None, &reference);
    merge_files(&inputs, &ours).unwrap();
    assert_eq!(
        text_dump(&ours),
        text_dump(&reference),
        "merge --text dumps"
    );
    llvm(&[
        "show".as_ref(),
        "--all-functions".as_ref(),
        "--counts".as_ref(),
        "--ic-targets".as_ref(),
        "--memop-sizes".as_ref(),
        ours.as_os_str(),
    ]);
    let overlap = llvm(&["overlap".as_ref(), reference.as_os_str(), ours.as_os_str()]);
    let overlap = String::from_utf8_lossy(&overlap.stdout);
    for kind in ["Edge", "IndirectCall", "MemOP"] {
        assert!(
            overlap.contains(&format!("{kind} profile overlap: 100.000%")),
            "{kind} overlap below 100%:\n{overlap}"
        );
    }
    let (a, b) = (
        std::fs::read(&ours).unwrap(),
        std::fs::read(&reference).unwrap(),
    );
    assert_eq!(a[72..72 + 448], b[72..72 + 448], "on-disk summary bytes");
}

#[test]
fn llvm_profparser_reads_our_output() {
    let c = corpus();
    let ours = c.out("profparser.profdata");
    merge_files(&c.runs_a, &ours).unwrap();
    let theirs = llvm_profparser::parse(&ours).expect("llvm_profparser reads the profile");
    let mine = profdata::read_indexed(&ours).unwrap();
    assert!(theirs.is_ir_level_profile());
    assert_eq!(theirs.records().len(), mine.functions.len());
    for f in &mine.functions {
        let r = theirs
            .find_record_by_name(&f.name_str())
            .expect("record present");
        assert_eq!(r.hash, Some(f.hash));
        assert_eq!(r.record.counts, f.record.counts, "{}", f.name_str());
    }
}

#[test]
fn show_describes_the_profile() {
    let c = corpus();
    let ours = c.out("show.profdata");
    merge_files(&c.all(), &ours).unwrap();
    let text = profdata::show(
        &ours,
        &ShowOptions {
            top: 3,
            all_functions: true,
        },
    )
    .unwrap();
    for needle in [
        "** external **",
        "indexed v13",
        "IR",
        "hottest functions",
        "summary (stored in the file, matches the records)",
        "never_called",
    ] {
        assert!(
            text.contains(needle),
            "show output lacks {needle:?}:\n{text}"
        );
    }
    let raw = profdata::show(&c.runs_a[0], &ShowOptions::default()).unwrap();
    assert!(raw.contains("raw v10"), "{raw}");
    // A corrupted summary changes rustc's view; show must say so.
    let mut bytes = std::fs::read(&ours).unwrap();
    bytes[72 + 16] ^= 1; // TotalNumFunctions
    let bad = c.out("bad-summary.profdata");
    std::fs::write(&bad, bytes).unwrap();
    let text = profdata::show(&bad, &ShowOptions::default()).unwrap();
    assert!(text.contains("DIFFERS"), "{text}");
}

/// A change applied to a copy of a good profile.
type Corruption = Box<dyn Fn(&mut Vec<u8>)>;

// ---------------------------------------------------------------- rustc acceptance

/// Builds the fixture with `-Cprofile-use`, returning (stderr, IR without
/// the lines naming the module).
fn profile_use(profile: &Path, ir: &Path) -> (String, String) {
    let c = corpus();
    let out = run_ok(
        Command::new("rustc")
            .args(COMMON_FLAGS)
            .arg(format!(
                "-Cprofile-use={}",
                profile.canonicalize().unwrap().display()
            ))
            .args([
                "-Cllvm-args=-pgo-warn-missing-function",
                "--emit=llvm-ir",
                "-o",
            ])
            .arg(ir)
            .arg(&c.src),
    );
    let text = std::fs::read_to_string(ir).unwrap();
    let text = text
        .lines()
        .filter(|l| !l.starts_with("source_filename") && !l.starts_with("; ModuleID"))
        .collect::<Vec<_>>()
        .join("\n");
    (String::from_utf8_lossy(&out.stderr).into_owned(), text)
}

#[test]
fn rustc_builds_identical_ir_from_our_profile() {
    let c = corpus();
    let (ours, reference) = (c.out("use-ours.profdata"), c.out("use-llvm.profdata"));
    llvm_merge(&c.runs_a, None, &reference);
    merge_files(&c.runs_a, &ours).unwrap();
    let (warn_ours, ir_ours) = profile_use(&ours, &c.out("ours.ll"));
    let (_, ir_ref) = profile_use(&reference, &c.out("llvm.ll"));
    assert!(!warn_ours.contains("warning"), "rustc warned:\n{warn_ours}");
    for needle in [
        "function_entry_count",
        "branch_weights",
        "!\"VP\"",
        "ProfileSummary",
    ] {
        assert!(ir_ours.contains(needle), "IR lacks {needle}");
    }
    assert!(
        ir_ours == ir_ref,
        "IR built from our profile differs from llvm-profdata's"
    );
}

/// Offsets of the item of the first name containing `needle` in an indexed
/// profile: (item start, record data start).
fn find_item(bytes: &[u8], needle: &str) -> (usize, usize) {
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    let table = u64_at(32);
    for b in 0..u64_at(table) {
        let off = u64_at(table + 16 + 8 * b);
        if off == 0 {
            continue;
        }
        let mut at = off + 2;
        for _ in 0..u16::from_le_bytes([bytes[off], bytes[off + 1]]) {
            let (klen, dlen) = (u64_at(at + 8), u64_at(at + 16));
            let key = String::from_utf8_lossy(&bytes[at + 24..at + 24 + klen]);
            if key.contains(needle) {
                return (at, at + 24 + klen);
            }
            at += 24 + klen + dlen;
        }
    }
    panic!("{needle} not in the profile");
}

/// PGO-FORMAT.md §4.6: each corruption is reported by our reader and makes
/// rustc warn.
#[test]
fn corrupt_indexed_profiles_are_caught() {
    let c = corpus();
    let good = c.out("neg-good.profdata");
    merge_files(&c.runs_a, &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let (item, data) = find_item(&bytes, "app4main");
    let counts = u64::from_le_bytes(bytes[data + 8..data + 16].try_into().unwrap()) as usize;
    let value_data = data + 16 + 8 * counts + 8; // after the (empty) bitmap size
    let cases: Vec<(&str, Corruption, &str)> = vec![
        (
            "clear the IR bit",
            Box::new(|b| b[15] &= !1),
            "Not an IR level instrumentation profile",
        ),
        (
            "flip a key hash",
            Box::new(move |b| b[item] ^= 0x40),
            "no profile data available for function",
        ),
        (
            "NumValueKinds = 5",
            Box::new(move |b| b[value_data + 4] = 5),
            "malformed instrumentation profile data",
        ),
        (
            "version 14",
            Box::new(|b| b[8] = 14),
            "unsupported instrumentation profile format version",
        ),
        (
            "BinaryIdOffset = 0",
            Box::new(|b| b[48..56].fill(0)),
            "file header is corrupt",
        ),
    ];
    for (i, (what, corrupt, rustc_says)) in cases.iter().enumerate() {
        let mut b = bytes.clone();
        corrupt(&mut b);
        let path = c.out(&format!("neg-{i}.profdata"));
        std::fs::write(&path, &b).unwrap();
        // Our side: the reader rejects it, or (for a non-IR profile) the merger does.
        let ours = match parse_indexed(&b) {
            Err(e) => e.to_string(),
            Ok(p) => {
                assert!(!p.is_ir_level(), "{what}: our reader accepted the file");
                merge_bytes(&[("neg", &b)])
                    .expect_err("non-IR input must be refused")
                    .to_string()
            }
        };
        assert!(!ours.is_empty());
        let (stderr, _) = profile_use(&path, &c.out(&format!("neg-{i}.ll")));
        assert!(
            stderr.to_lowercase().contains(&rustc_says.to_lowercase()),
            "{what}: rustc did not warn {rustc_says:?}:\n{stderr}"
        );
    }
}

// ---------------------------------------------------------------- corrupt raw input

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// (first data record, names section) offsets of a profraw.
fn raw_layout(b: &[u8]) -> (usize, usize) {
    let data = 128 + u64_at(b, 16) as usize;
    let counters = data + 64 * u64_at(b, 24) as usize + u64_at(b, 32) as usize;
    let bitmap = counters + 8 * u64_at(b, 40) as usize + u64_at(b, 48) as usize;
    let names = bitmap + u64_at(b, 56) as usize + u64_at(b, 64) as usize;
    (data, names)
}

#[test]
fn corrupt_raw_profiles_are_reported_with_their_defect() {
    let c = corpus();
    let good = std::fs::read(&c.runs_a[0]).unwrap();
    let (data, names) = raw_layout(&good);
    let value_data = {
        let names_size = u64_at(&good, 72) as usize;
        names + names_size.next_multiple_of(8)
    };
    let counters = data + 64 * u64_at(&good, 24) as usize + u64_at(&good, 32) as usize;
    let cases: Vec<(&str, Corruption, ErrorKind, &str, bool)> = vec![
        (
            "counter above 2^56",
            Box::new(move |b| b[counters + 7] = 0x02),
            ErrorKind::Malformed,
            "excessively large counter",
            true,
        ),
        (
            "bad magic",
            Box::new(|b| b[0] ^= 0xff),
            ErrorKind::NotAProfile,
            "bad magic",
            true,
        ),
        (
            "version 9",
            Box::new(|b| b[8] = 9),
            ErrorKind::UnsupportedVersion,
            "version 9",
            true,
        ),
        (
            "header cut",
            Box::new(|b| b.truncate(100)),
            ErrorKind::Truncated,
            "header",
            true,
        ),
        (
            "counters cut",
            Box::new(move |b| b.truncate(data + 64)),
            ErrorKind::Truncated,
            "announces",
            true,
        ),
        (
            "value data cut",
            Box::new(|b| {
                let n = b.len();
                b.truncate(n - 8)
            }),
            ErrorKind::Truncated,
            "value profile data",
            true,
        ),
        (
            "binary ids size 7",
            Box::new(|b| b[16] = 7),
            ErrorKind::Malformed,
            "binary ids size",
            true,
        ),
        (
            "counter offset",
            Box::new(move |b| b[data + 16..data + 24].fill(0x7f)),
            ErrorKind::Malformed,
            "counter offset",
            true,
        ),
        (
            "zero counters",
            Box::new(move |b| b[data + 48..data + 52].fill(0)),
            ErrorKind::Malformed,
            "counters is zero",
            true,
        ),
        (
            "zlib names",
            Box::new(move |b| {
                for x in &mut b[names + 12..names + 40] {
                    *x ^= 0x5a
                }
            }),
            ErrorKind::Malformed,
            "zlib",
            true,
        ),
        (
            "NumValueKinds = 5",
            Box::new(move |b| b[value_data + 4] = 5),
            ErrorKind::Malformed,
            "kinds",
            true,
        ),
        (
            "unknown name",
            Box::new(move |b| b[data] ^= 1),
            ErrorKind::Malformed,
            "not in the names section",
            false,
        ),
    ];
    for (what, corrupt, kind, needle, llvm_rejects) in &cases {
        let mut b = good.clone();
        corrupt(&mut b);
        let err = parse_raw(&b)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(err.kind(), *kind, "{what}: {err}");
        assert!(err.to_string().contains(needle), "{what}: {err}");
        // Through the file API the message names the file, and nothing is written.
        let input = c.out(&format!("bad-{}.profraw", what.replace(' ', "-")));
        std::fs::write(&input, &b).unwrap();
        let out = c.out("never-written.profdata");
        let msg = format!(
            "{:#}",
            merge_files(&[c.runs_a[1].clone(), input.clone()], &out).unwrap_err()
        );
        assert!(
            msg.contains(&*input.to_string_lossy()) && msg.contains(needle),
            "{what}: {msg}"
        );
        assert!(!out.exists(), "{what}: partial output left behind");
        if *llvm_rejects {
            let status = Command::new(llvm_profdata())
                .args(["merge", "-o", "/dev/null"])
                .arg(&input)
                .output()
                .unwrap()
                .status;
            assert!(
                !status.success(),
                "{what}: llvm-profdata accepted it, so should we"
            );
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&c.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".profdata-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn every_truncation_is_an_error() {
    let c = corpus();
    let good = std::fs::read(&c.runs_b[0]).unwrap();
    for len in 1..good.len() {
        assert!(
            parse_raw(&good[..len]).is_err(),
            "a {len}-byte prefix parsed"
        );
    }
    assert_eq!(
        parse_raw(&good).unwrap().num_records(),
        parse_raw(&good).unwrap().function_names().len()
    );
}

#[test]
fn mixed_and_foreign_kinds_are_refused() {
    let c = corpus();
    let good = std::fs::read(&c.runs_a[0]).unwrap();
    let mut entry_first = good.clone();
    entry_first[15] |= 1 << 2; // bit 58
    let err = merge_bytes(&[("a", &good), ("b", &entry_first)]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible);
    assert!(err.to_string().contains("entry-first"), "{err}");
    let mut front_end = good.clone();
    front_end[15] &= !1; // bit 56
    let err = merge_bytes(&[("a", &front_end)]).unwrap_err();
    assert!(err.to_string().contains("not an IR-level profile"), "{err}");
    let err = parse_raw(b"\x7fELF\x02\x01\x01\x00 not a profile at all").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAProfile);
}

#[test]
fn a_failed_merge_keeps_the_previous_output() {
    let c = corpus();
    let out = c.out("kept.profdata");
    std::fs::write(&out, b"previous").unwrap();
    let missing = c.out("no-such.profraw");
    let err = format!(
        "{:#}",
        merge_files(&[c.runs_a[0].clone(), missing.clone()], &out).unwrap_err()
    );
    assert!(err.contains("no-such.profraw"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
}

mod mutation {
    use super::*;
    use proptest::prelude::*;

    fn indexed_sample() -> &'static Vec<u8> {
        static SAMPLE: OnceLock<Vec<u8>> = OnceLock::new();
        SAMPLE.get_or_init(|| {
            let c = corpus();
            let bytes: Vec<Vec<u8>> = c.runs_b.iter().map(|p| std::fs::read(p).unwrap()).collect();
            let inputs: Vec<(&str, &[u8])> = bytes.iter().map(|b| ("b", &b[..])).collect();
            merge_bytes(&inputs).unwrap()
        })
    }

    fn sample() -> &'static Vec<u8> {
        static SAMPLE: OnceLock<Vec<u8>> = OnceLock::new();
        SAMPLE.get_or_init(|| std::fs::read(&corpus().runs_a[2]).unwrap())
    }

    /// Overwrites the bytes at `edits`, then truncates at `cut` if given.
    fn mutate(
        b: &mut Vec<u8>,
        edits: &[(prop::sample::Index, u8)],
        cut: Option<prop::sample::Index>,
    ) {
        for (at, byte) in edits {
            let i = at.index(b.len());
            b[i] = *byte;
        }
        if let Some(cut) = cut {
            let n = cut.index(b.len());
            b.truncate(n);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Random byte changes and cuts never panic the reader or the merger.
        #[test]
        fn mutated_profraws_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
            do_cut in any::<bool>(),
        ) {
            let mut b = sample().clone();
            mutate(&mut b, &edits, do_cut.then_some(cut));
            let _ = parse_raw(&b);
            if let Ok(out) = merge_bytes(&[("mutant", &b)]) {
                parse_indexed(&out).expect("our own output reads back");
            }
        }

        /// The same for indexed profiles (read by `show` and as merge input).
        #[test]
        fn mutated_profdata_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
            do_cut in any::<bool>(),
        ) {
            let mut b = indexed_sample().clone();
            mutate(&mut b, &edits, do_cut.then_some(cut));
            let _ = parse_indexed(&b);
            if let Ok(out) = merge_bytes(&[("mutant", &b)]) {
                parse_indexed(&out).expect("our own output reads back");
            }
        }
    }
}

// ---------------------------------------------------------------- the command line

fn cargo_armature(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-armature"))
        .arg("armature")
        .args(args)
        .output()
        .expect("run cargo-armature")
}

#[test]
fn cli_merges_and_shows() {
    let c = corpus();
    let raw_b = c.runs_b[0].parent().unwrap();
    let (ours, reference) = (c.out("cli.profdata"), c.out("cli-llvm.profdata"));
    let out = cargo_armature(&[
        "profdata".as_ref(),
        "merge".as_ref(),
        "-o".as_ref(),
        ours.as_os_str(),
        raw_b.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("merged 2 profiles"), "{stdout}");
    let mut files = c.runs_b.clone();
    files.sort();
    llvm_merge(&files, None, &reference);
    assert_same_bytes(&ours, &reference, "cargo armature profdata merge DIR");

    let out = cargo_armature(&[
        "profdata".as_ref(),
        "show".as_ref(),
        "--top".as_ref(),
        "2".as_ref(),
        ours.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("hottest functions"),
        "{stdout}"
    );

    // A corrupt input: exit 2, the file and the defect named, no output written.
    let bad = c.out("cli-bad.profraw");
    let mut bytes = std::fs::read(&c.runs_b[0]).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&bad, bytes).unwrap();
    let never = c.out("cli-never.profdata");
    let out = cargo_armature(&[
        "profdata".as_ref(),
        "merge".as_ref(),
        "-o".as_ref(),
        never.as_os_str(),
        bad.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cli-bad.profraw") && stderr.contains("truncated"),
        "{stderr}"
    );
    assert!(!never.exists());
}
