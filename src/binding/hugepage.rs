//! JS class `HugepageStatus` (API.md §5) and the `HugepageConfig` / status argument parsers
//! shared with the slab binding.

use napi::bindgen_prelude::*;
use napi::ValueType;
use napi_derive::napi;

use super::args;
use super::error::{Code, Coded, CodedResult, ThrowExt};
use super::ffi::class::instance_of;
use super::raw::{self, IntoJs};
use crate::topo::hugepage::{self as core, HugepageFallbackReason};

/// `{ enabled = true, pageSizeBytes = 2097152 }`; `undefined` gives the defaults.
pub(crate) fn config_from_js(v: Option<Unknown<'_>>, name: &str) -> CodedResult<core::HugepageConfig> {
    let mut config = core::HugepageConfig::default();
    let Some(obj) = args::options(v, name)? else { return Ok(config) };
    config.enabled = args::opt_bool(&obj, "enabled", &format!("{name}.enabled"), config.enabled)?;
    let page = args::prop(&obj, "pageSizeBytes")?;
    if !args::is_undefined(&page) {
        let n = args::u53(&page, &format!("{name}.pageSizeBytes"))?;
        config.page_size_bytes = usize::try_from(n)
            .map_err(|_| Coded::out_of_range(&format!("{name}.pageSizeBytes"), "<= usize::MAX", n))?;
    }
    Ok(config)
}

/// A `HugepageStatus` instance, or a plain object with the same fields (`totalPages`,
/// `freePages`, `pageSizeBytes`, `active`, `fallbackReason`).
pub(crate) fn status_from_js(v: &Unknown<'_>, name: &str) -> CodedResult<core::HugepageStatus> {
    if args::ty(v) != ValueType::Object {
        return Err(Coded::arg_type(name, "a HugepageStatus or status object", args::describe(v)));
    }
    if let Some(s) = instance_of::<HugepageStatus>(v) {
        // The fields a status object has (`thpMode` describes the host, not a pool): an
        // instance and its spread copy set the same status.
        return Ok(core::HugepageStatus { thp_mode: None, ..s.inner.clone() });
    }
    let Some(obj) = args::options(Some(*v), name)? else {
        return Err(Coded::arg_type(name, "a HugepageStatus or status object", "undefined"));
    };
    let count =
        |key: &str| -> CodedResult<u64> { args::u53(&args::prop(&obj, key)?, &format!("{name}.{key}")) };
    let total_pages = count("totalPages")?;
    let free_pages = count("freePages")?;
    let page = count("pageSizeBytes")?;
    let page_size_bytes = usize::try_from(page)
        .map_err(|_| Coded::out_of_range(&format!("{name}.pageSizeBytes"), "<= usize::MAX", page))?;
    let active = args::boolean(&args::prop(&obj, "active")?, &format!("{name}.active"))?;
    let reason_v = args::prop(&obj, "fallbackReason")?;
    let fallback_reason = match args::ty(&reason_v) {
        ValueType::Undefined | ValueType::Null => None,
        _ => {
            let code = args::string(&reason_v, &format!("{name}.fallbackReason"))?;
            Some(HugepageFallbackReason::from_code(&code).ok_or_else(|| {
                Coded::new(
                    Code::InvalidArgValue,
                    format!(
                        "The property '{name}.fallbackReason' must be one of 'hugepage_disabled', \
                         'detection_unavailable', 'insufficient_hugepages', 'alignment_mismatch' or null. \
                         Received '{code}'"
                    ),
                )
            })?)
        }
    };
    Ok(core::HugepageStatus {
        total_pages,
        free_pages,
        page_size_bytes,
        active,
        fallback_reason,
        thp_mode: None,
    })
}

/// The host's hugepage status (or one you built with `evaluate`): explicit-pool counts for one
/// page size, whether hugepages are usable, and why not.
#[napi]
pub struct HugepageStatus {
    pub(crate) inner: core::HugepageStatus,
}

#[napi]
impl HugepageStatus {
    /// Reads the host: the explicit pool of the configured page size
    /// (`/sys/kernel/mm/hugepages/hugepages-<N>kB`, else `/proc/meminfo` when its default size
    /// matches) and the transparent-hugepage mode. Never throws for host reasons: an
    /// unreadable host reports `detection_unavailable`.
    #[napi(
        ts_args_type = "config?: { enabled?: boolean; pageSizeBytes?: number }",
        ts_return_type = "HugepageStatus"
    )]
    pub fn detect<'e>(env: &'e Env, config: Option<Unknown>) -> Result<Unknown<'e>> {
        let config = config_from_js(config, "config").or_throw(env)?;
        Self::to_js(env, core::detect(&config))
    }

    /// The status rule alone: disabled → `hugepage_disabled` (counts kept); total = free = 0 →
    /// `detection_unavailable`; free = 0 → `insufficient_hugepages`; otherwise active.
    #[napi(
        ts_args_type = "config: { enabled?: boolean; pageSizeBytes?: number } | undefined, totalPages: number, freePages: number",
        ts_return_type = "HugepageStatus"
    )]
    pub fn evaluate<'e>(
        env: &'e Env,
        config: Unknown,
        total_pages: Unknown,
        free_pages: Unknown,
    ) -> Result<Unknown<'e>> {
        let config = config_from_js(Some(config), "config").or_throw(env)?;
        let total = args::u53(&total_pages, "totalPages").or_throw(env)?;
        let free = args::u53(&free_pages, "freePages").or_throw(env)?;
        Self::to_js(env, core::evaluate(&config, total, free))
    }

    /// Pages in the explicit pool.
    #[napi(getter)]
    pub fn total_pages(&self) -> f64 {
        self.inner.total_pages as f64
    }

    /// Free pages in the explicit pool.
    #[napi(getter)]
    pub fn free_pages(&self) -> f64 {
        self.inner.free_pages as f64
    }

    /// The page size the counts are for.
    #[napi(getter)]
    pub fn page_size_bytes(&self) -> f64 {
        self.inner.page_size_bytes as f64
    }

    /// True exactly when `fallbackReason` is null.
    #[napi(getter)]
    pub fn active(&self) -> bool {
        self.inner.active
    }

    /// Why hugepages are not in use, or null.
    #[napi(
        getter,
        ts_return_type = "'hugepage_disabled' | 'detection_unavailable' | 'insufficient_hugepages' | 'alignment_mismatch' | null"
    )]
    pub fn fallback_reason(&self) -> Option<&'static str> {
        self.inner.fallback_reason.map(HugepageFallbackReason::code)
    }

    /// The host's transparent-hugepage mode (`detect` only; null from `evaluate` or without THP).
    #[napi(getter, ts_return_type = "'always' | 'madvise' | 'never' | null")]
    pub fn thp_mode(&self) -> Option<&'static str> {
        self.inner.thp_mode.map(core::ThpMode::code)
    }

    /// `{ total_pages, free_pages, page_size_bytes, active, fallback_reason }`.
    #[napi(
        ts_return_type = "{ total_pages: number; free_pages: number; page_size_bytes: number; active: boolean; fallback_reason: string | null }"
    )]
    pub fn as_json(&self) -> serde_json::Value {
        self.inner.to_json()
    }
}

impl HugepageStatus {
    /// Plain data (issue 16): an instance whose six fields are own enumerable read-only
    /// properties, so `{ ...status }`, `Object.keys` and `JSON.stringify` see them (they shadow
    /// the prototype getters of the same names); `asJson()` stays a method and `instanceof`
    /// still holds.
    pub(crate) fn to_js(env: &Env, inner: core::HugepageStatus) -> Result<Unknown<'_>> {
        let s = Self { inner };
        let fields = [
            (c"totalPages", s.total_pages().into_js(env)?),
            (c"freePages", s.free_pages().into_js(env)?),
            (c"pageSizeBytes", s.page_size_bytes().into_js(env)?),
            (c"active", s.active().into_js(env)?),
            (c"fallbackReason", s.fallback_reason().into_js(env)?),
            (c"thpMode", s.thp_mode().into_js(env)?),
        ];
        raw::plain_instance(env, s, &fields)
    }
}
