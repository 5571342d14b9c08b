//! Hugepages: the configuration a slab pool asks for, the status a host can give, and the rules
//! that turn host counts into that status (API.md §5, behaviours §7).
//!
//! # What it owns
//! - [`HugepageConfig`]: enabled flag and page size (default: enabled, 2 MiB).
//! - [`HugepageStatus`]: explicit-pool counts, whether hugepages are usable, and why not.
//! - [`evaluate`]: the pure rule from (config, total, free) to a status.
//! - [`slab_footprint`] / [`is_aligned`]: whether a slab of `capacity × entry_size` bytes is a
//!   whole number of pages (checked arithmetic: `usize` overflow is "not aligned", never a panic).
//! - [`detect`] / [`detect_in`]: reads the host. Explicit pools come from
//!   `/sys/kernel/mm/hugepages/hugepages-<N>kB/{nr_hugepages,free_hugepages}` for the configured
//!   page size; when that directory is missing, `/proc/meminfo` (`HugePages_Total`,
//!   `HugePages_Free`) is used, but only if its `Hugepagesize` is the configured size (meminfo
//!   counts only the default size). The transparent-hugepage mode comes from
//!   `/sys/kernel/mm/transparent_hugepage/enabled` (the bracketed word of `always [madvise] never`).
//!
//! # Invariants
//! - H1 (priority): evaluate checks, in order: disabled → `hugepage_disabled` (counts kept);
//!   total = 0 and free = 0 → `detection_unavailable` (counts 0); free = 0 →
//!   `insufficient_hugepages` (total kept); otherwise active with no reason. `active` is true
//!   exactly when `fallback_reason` is `None`.
//! - H2 (alignment): when enabled, a footprint is aligned iff the page size is non-zero, the
//!   multiply does not overflow, the footprint is non-zero and a multiple of the page size.
//!   When disabled, every footprint is aligned.
//! - H3 (mismatch status): the alignment-mismatch status has zero counts, the configured page
//!   size, is inactive, and carries `alignment_mismatch`.
//! - H4 (detection never fails): a missing or unreadable file means "no pool" (counts 0), so
//!   detection yields a status, never an error; the per-file errors are [`HugepageError`]s for
//!   callers that want them.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::json;
use thiserror::Error;

/// The 2 MiB default page size (x86-64 and aarch64 with 4 KiB base pages).
pub const DEFAULT_PAGE_SIZE_BYTES: usize = 2 * 1024 * 1024;

/// Errors while reading the host's hugepage files.
#[derive(Debug, Error)]
pub enum HugepageError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file held something other than what the kernel writes there.
    #[error("unexpected contents in {path}: {text:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it held (trimmed).
        text: String,
    },
}

/// What a slab pool asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HugepageConfig {
    /// Whether hugepages should be used at all.
    pub enabled: bool,
    /// The page size in bytes (0 is accepted and never aligned, H2).
    pub page_size_bytes: usize,
}

impl Default for HugepageConfig {
    fn default() -> Self {
        Self { enabled: true, page_size_bytes: DEFAULT_PAGE_SIZE_BYTES }
    }
}

/// Why hugepages are not in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HugepageFallbackReason {
    /// The configuration turned them off.
    Disabled,
    /// The host reported no explicit pool (total = free = 0) or could not be read.
    DetectionUnavailable,
    /// A pool exists but has no free page.
    InsufficientHugepages,
    /// The slab footprint is not a whole number of pages (H2).
    AlignmentMismatch,
}

impl HugepageFallbackReason {
    /// The stable snake_case code used in JSON and JS.
    pub fn code(self) -> &'static str {
        match self {
            Self::Disabled => "hugepage_disabled",
            Self::DetectionUnavailable => "detection_unavailable",
            Self::InsufficientHugepages => "insufficient_hugepages",
            Self::AlignmentMismatch => "alignment_mismatch",
        }
    }

    /// The reason for a code, if it is one.
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Disabled, Self::DetectionUnavailable, Self::InsufficientHugepages, Self::AlignmentMismatch]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

impl fmt::Display for HugepageFallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The transparent-hugepage mode of the host (`/sys/kernel/mm/transparent_hugepage/enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThpMode {
    /// Every large enough anonymous mapping may get hugepages.
    Always,
    /// Only mappings advised with `MADV_HUGEPAGE`.
    Madvise,
    /// Transparent hugepages are off.
    Never,
}

impl ThpMode {
    /// The word the kernel uses (`always`, `madvise`, `never`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Madvise => "madvise",
            Self::Never => "never",
        }
    }

    /// Parses the kernel's line, e.g. `always [madvise] never`: the bracketed word is the mode.
    pub fn parse(line: &str) -> Option<Self> {
        let start = line.find('[')?;
        let end = start + line[start..].find(']')?;
        match &line[start + 1..end] {
            "always" => Some(Self::Always),
            "madvise" => Some(Self::Madvise),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// What the host can give (or what a caller says it can give, for `set_hugepage_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepageStatus {
    /// Pages in the explicit pool of this size.
    pub total_pages: u64,
    /// Free pages in that pool.
    pub free_pages: u64,
    /// The page size the counts are for.
    pub page_size_bytes: usize,
    /// Whether hugepages are usable (H1: exactly when there is no fallback reason).
    pub active: bool,
    /// Why not, when not.
    pub fallback_reason: Option<HugepageFallbackReason>,
    /// The transparent-hugepage mode, when read from the host (never part of the JSON contract).
    pub thp_mode: Option<ThpMode>,
}

impl HugepageStatus {
    /// The status JSON: keys `total_pages`, `free_pages`, `page_size_bytes`, `active`,
    /// `fallback_reason` (a code or null).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "total_pages": self.total_pages,
            "free_pages": self.free_pages,
            "page_size_bytes": self.page_size_bytes,
            "active": self.active,
            "fallback_reason": self.fallback_reason.map(HugepageFallbackReason::code),
        })
    }
}

/// The rule of H1: a status for `config` given the host's pool counts.
pub fn evaluate(config: &HugepageConfig, total: u64, free: u64) -> HugepageStatus {
    let (total_pages, free_pages, reason) = if !config.enabled {
        (total, free, Some(HugepageFallbackReason::Disabled))
    } else if total == 0 && free == 0 {
        (0, 0, Some(HugepageFallbackReason::DetectionUnavailable))
    } else if free == 0 {
        (total, 0, Some(HugepageFallbackReason::InsufficientHugepages))
    } else {
        (total, free, None)
    };
    HugepageStatus {
        total_pages,
        free_pages,
        page_size_bytes: config.page_size_bytes,
        active: reason.is_none(),
        fallback_reason: reason,
        thp_mode: None,
    }
}

/// `capacity × entry_size`, or `None` when it overflows `usize` (H2).
pub fn slab_footprint(capacity: usize, entry_size: usize) -> Option<usize> {
    capacity.checked_mul(entry_size)
}

/// Whether a slab of `capacity × entry_size` bytes suits `config` (H2).
pub fn is_aligned(config: &HugepageConfig, capacity: usize, entry_size: usize) -> bool {
    if !config.enabled {
        return true;
    }
    match slab_footprint(capacity, entry_size) {
        Some(bytes) => config.page_size_bytes != 0 && bytes != 0 && bytes % config.page_size_bytes == 0,
        None => false,
    }
}

/// The status of a misaligned configuration (H3).
pub fn alignment_mismatch_status(config: &HugepageConfig) -> HugepageStatus {
    HugepageStatus {
        total_pages: 0,
        free_pages: 0,
        page_size_bytes: config.page_size_bytes,
        active: false,
        fallback_reason: Some(HugepageFallbackReason::AlignmentMismatch),
        thp_mode: None,
    }
}

/// Reads the real host (root `/`): explicit pool counts for the configured page size, evaluated
/// by [`evaluate`], plus the transparent-hugepage mode.
/// The WebAssembly build never reads the host (its slab regions are ordinary memory, see
/// `slab/region.rs`), so there it is always `detection_unavailable` (or `disabled`), H1.
pub fn detect(config: &HugepageConfig) -> HugepageStatus {
    if cfg!(target_family = "wasm") {
        return evaluate(config, 0, 0);
    }
    detect_in(Path::new("/"), config)
}

/// Like [`detect`], with `/sys` and `/proc` looked up under `root` (tests use a fake tree).
pub fn detect_in(root: &Path, config: &HugepageConfig) -> HugepageStatus {
    let (total, free) = explicit_pool(root, config.page_size_bytes).unwrap_or((0, 0));
    let mut status = evaluate(config, total, free);
    status.thp_mode = thp_mode(root).ok().flatten();
    status
}

/// `(total, free)` pages of the explicit pool for `page_size_bytes`: the sysfs pool directory
/// when present, else `/proc/meminfo` when its default size matches, else `(0, 0)` (H4).
///
/// # Errors
/// The sysfs directory exists but a count file cannot be read or parsed.
pub fn explicit_pool(root: &Path, page_size_bytes: usize) -> Result<(u64, u64), HugepageError> {
    if page_size_bytes != 0 && page_size_bytes % 1024 == 0 {
        let dir = root.join(format!("sys/kernel/mm/hugepages/hugepages-{}kB", page_size_bytes / 1024));
        if dir.is_dir() {
            let total = read_u64(&dir.join("nr_hugepages"))?;
            let free = read_u64(&dir.join("free_hugepages"))?;
            return Ok((total, free));
        }
    }
    let path = root.join("proc/meminfo");
    let text = std::fs::read_to_string(&path).map_err(|source| HugepageError::Io { path, source })?;
    Ok(meminfo_pool(&text, page_size_bytes).unwrap_or((0, 0)))
}

/// `(HugePages_Total, HugePages_Free)` from meminfo text when `Hugepagesize` is `page_size_bytes`.
pub fn meminfo_pool(meminfo: &str, page_size_bytes: usize) -> Option<(u64, u64)> {
    let mut total = None;
    let mut free = None;
    let mut size_kb = None;
    for line in meminfo.lines() {
        let Some((key, rest)) = line.split_once(':') else { continue };
        let value = rest.split_whitespace().next().and_then(|v| v.parse::<u64>().ok());
        match key.trim() {
            "HugePages_Total" => total = value,
            "HugePages_Free" => free = value,
            "Hugepagesize" => size_kb = value,
            _ => {}
        }
    }
    let size = usize::try_from(size_kb?.checked_mul(1024)?).ok()?;
    (size == page_size_bytes).then_some((total?, free?))
}

/// The transparent-hugepage mode under `root`, `None` when the kernel has no THP.
///
/// # Errors
/// The file exists but cannot be read or holds no bracketed mode.
pub fn thp_mode(root: &Path) -> Result<Option<ThpMode>, HugepageError> {
    let path = root.join("sys/kernel/mm/transparent_hugepage/enabled");
    match std::fs::read_to_string(&path) {
        Ok(text) => ThpMode::parse(&text)
            .map(Some)
            .ok_or_else(|| HugepageError::Parse { path, text: text.trim().to_owned() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(HugepageError::Io { path, source }),
    }
}

/// The PMD-sized transparent hugepage (`hpage_pmd_size`), 2 MiB when the file is absent.
pub fn thp_page_size(root: &Path) -> usize {
    let path = root.join("sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    read_u64(&path)
        .ok()
        .and_then(|v| usize::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_PAGE_SIZE_BYTES)
}

fn read_u64(path: &Path) -> Result<u64, HugepageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| HugepageError::Io { path: path.to_owned(), source })?;
    text.trim()
        .parse()
        .map_err(|_| HugepageError::Parse { path: path.to_owned(), text: text.trim().to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB2: usize = DEFAULT_PAGE_SIZE_BYTES;

    fn cfg(enabled: bool, page: usize) -> HugepageConfig {
        HugepageConfig { enabled, page_size_bytes: page }
    }

    fn check(
        s: &HugepageStatus,
        active: bool,
        reason: Option<HugepageFallbackReason>,
        total: u64,
        free: u64,
    ) {
        assert_eq!((s.active, s.fallback_reason, s.total_pages, s.free_pages), (active, reason, total, free));
    }

    #[test]
    fn default_config_is_enabled_2mib() {
        assert_eq!(HugepageConfig::default(), cfg(true, 2_097_152));
    }

    #[test]
    fn evaluate_priority_h1() {
        use HugepageFallbackReason::*;
        // HS1: disabled keeps the counts.
        check(&evaluate(&cfg(false, MIB2), 1024, 512), false, Some(Disabled), 1024, 512);
        // HS2
        check(&evaluate(&cfg(true, MIB2), 0, 0), false, Some(DetectionUnavailable), 0, 0);
        // HS3
        check(&evaluate(&cfg(true, MIB2), 1024, 0), false, Some(InsufficientHugepages), 1024, 0);
        // HS4
        check(&evaluate(&cfg(true, MIB2), 1024, 512), true, None, 1024, 512);
        // HS5: evaluate ignores slab alignment.
        let s = evaluate(&cfg(true, 2048), 256, 64);
        check(&s, true, None, 256, 64);
        assert_eq!(s.page_size_bytes, 2048);
        // HS6
        check(&evaluate(&cfg(true, MIB2), 512, 256), true, None, 512, 256);
        // §12.11: total 0 with free > 0 is active.
        check(&evaluate(&cfg(true, MIB2), 0, 3), true, None, 0, 3);
    }

    #[test]
    fn status_json_hj1() {
        let j = evaluate(&HugepageConfig::default(), 1024, 128).to_json();
        assert_eq!(j["total_pages"], 1024);
        assert_eq!(j["free_pages"], 128);
        assert_eq!(j["page_size_bytes"], 2_097_152);
        assert_eq!(j["active"], true);
        assert!(j["fallback_reason"].is_null());
        assert_eq!(j.as_object().map(|o| o.len()), Some(5));
    }

    #[test]
    fn reason_codes() {
        use HugepageFallbackReason::*;
        let all = [Disabled, DetectionUnavailable, InsufficientHugepages, AlignmentMismatch];
        let codes: Vec<_> = all.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            ["hugepage_disabled", "detection_unavailable", "insufficient_hugepages", "alignment_mismatch"]
        );
        for r in all {
            assert_eq!(HugepageFallbackReason::from_code(r.code()), Some(r));
        }
        assert_eq!(HugepageFallbackReason::from_code("nope"), None);
    }

    #[test]
    fn alignment_h2() {
        // AL1: page 0.
        assert!(!is_aligned(&cfg(true, 0), 4, 1024));
        // AL2: zero footprint.
        assert_eq!(slab_footprint(0, 1024), Some(0));
        assert!(!is_aligned(&cfg(true, 2048), 0, 1024));
        // AL3: overflow is None, not a panic; the mismatch status follows H3.
        assert_eq!(slab_footprint(usize::MAX, 2), None);
        assert!(!is_aligned(&cfg(true, 4096), usize::MAX, 2));
        let s = alignment_mismatch_status(&cfg(true, 4096));
        check(&s, false, Some(HugepageFallbackReason::AlignmentMismatch), 0, 0);
        assert_eq!(s.page_size_bytes, 4096);
        // AL4
        assert_eq!(slab_footprint(2, usize::MAX), None);
        assert!(!is_aligned(&cfg(true, 4096), 2, usize::MAX));
        // Aligned and misaligned footprints.
        assert!(is_aligned(&cfg(true, 4096), 4, 1024));
        assert!(!is_aligned(&cfg(true, 2048), 3, 1024));
        assert!(!is_aligned(&HugepageConfig::default(), 256, 512));
        // Disabled: always ok, even for overflow and page 0.
        assert!(is_aligned(&cfg(false, 0), usize::MAX, 2));
        assert!(is_aligned(&cfg(false, 2048), 3, 1024));
    }

    #[test]
    fn thp_mode_parse() {
        assert_eq!(ThpMode::parse("always [madvise] never\n"), Some(ThpMode::Madvise));
        assert_eq!(ThpMode::parse("[always] madvise never"), Some(ThpMode::Always));
        assert_eq!(ThpMode::parse("always madvise [never]"), Some(ThpMode::Never));
        assert_eq!(ThpMode::parse("always madvise never"), None);
        assert_eq!(ThpMode::parse("[bogus"), None);
    }

    #[test]
    fn meminfo_parse_requires_matching_size() {
        let text = "MemTotal: 100 kB\nHugePages_Total:      16\nHugePages_Free:        9\nHugepagesize:       2048 kB\n";
        assert_eq!(meminfo_pool(text, MIB2), Some((16, 9)));
        assert_eq!(meminfo_pool(text, 1 << 30), None);
        assert_eq!(meminfo_pool("MemTotal: 1 kB\n", MIB2), None);
    }

    /// A fake `/sys` + `/proc` tree under the temp dir, removed on drop.
    struct FakeRoot(PathBuf);

    impl FakeRoot {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("seqloop-hp-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            Self(dir)
        }
        fn write(&self, rel: &str, text: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
    }

    impl Drop for FakeRoot {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn detect_reads_sysfs_pool_for_the_configured_size() {
        let root = FakeRoot::new("sysfs");
        root.write("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "64\n");
        root.write("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "40\n");
        root.write("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "2\n");
        root.write("sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0\n");
        root.write("sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
        root.write("proc/meminfo", "HugePages_Total: 999\nHugePages_Free: 999\nHugepagesize: 2048 kB\n");
        let s = detect_in(&root.0, &HugepageConfig::default());
        check(&s, true, None, 64, 40);
        assert_eq!(s.thp_mode, Some(ThpMode::Madvise));
        let s = detect_in(&root.0, &cfg(true, 1 << 30));
        check(&s, false, Some(HugepageFallbackReason::InsufficientHugepages), 2, 0);
    }

    #[test]
    fn detect_falls_back_to_meminfo_then_to_unavailable() {
        let root = FakeRoot::new("meminfo");
        root.write("proc/meminfo", "HugePages_Total: 8\nHugePages_Free: 3\nHugepagesize: 2048 kB\n");
        let s = detect_in(&root.0, &HugepageConfig::default());
        check(&s, true, None, 8, 3);
        assert_eq!(s.thp_mode, None);
        // A size meminfo does not describe: nothing detected (H4).
        let s = detect_in(&root.0, &cfg(true, 1 << 30));
        check(&s, false, Some(HugepageFallbackReason::DetectionUnavailable), 0, 0);
        // Nothing at all.
        let empty = FakeRoot::new("empty");
        let s = detect_in(&empty.0, &HugepageConfig::default());
        check(&s, false, Some(HugepageFallbackReason::DetectionUnavailable), 0, 0);
        // Garbage in a pool file is an error from explicit_pool, and "no pool" for detect.
        root.write("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "lots");
        root.write("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "1");
        assert!(matches!(explicit_pool(&root.0, MIB2), Err(HugepageError::Parse { .. })));
        check(
            &detect_in(&root.0, &HugepageConfig::default()),
            false,
            Some(HugepageFallbackReason::DetectionUnavailable),
            0,
            0,
        );
    }

    #[test]
    fn detect_disabled_keeps_host_counts() {
        let root = FakeRoot::new("disabled");
        root.write("proc/meminfo", "HugePages_Total: 8\nHugePages_Free: 3\nHugepagesize: 2048 kB\n");
        let s = detect_in(&root.0, &cfg(false, MIB2));
        check(&s, false, Some(HugepageFallbackReason::Disabled), 8, 3);
    }

    #[test]
    fn detect_real_host_is_consistent() {
        let s = detect(&HugepageConfig::default());
        assert_eq!(s.active, s.fallback_reason.is_none());
        assert_eq!(s.page_size_bytes, MIB2);
        assert!(s.free_pages <= s.total_pages || s.total_pages == 0);
    }
}
