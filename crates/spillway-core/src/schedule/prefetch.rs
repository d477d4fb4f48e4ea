//! A cache hint: start loading a line that a later pop will read.
//!
//! Tenant fair share serves requests out of arrival order, so at 100 k queued each pop reads a
//! request (and its tenant's sub-queue head) that left the core's caches long ago: two
//! dependent misses that aging + tenants paid on every pop. The DRR ring says which tenants come
//! next, so the scheduler can ask for their lines a few pops early.
//!
//! This is the workspace's one `unsafe` block. Stable Rust has no safe prefetch (the portable
//! `core::intrinsics::prefetch_read_data` is unstable, and `_mm_prefetch` is an `unsafe`
//! target-feature intrinsic); the crates that wrap it are small unmaintained wrappers around
//! the same call. A prefetch is sound for any address: it never faults, reads nothing the
//! program can observe and changes no architectural state, and here the address even comes
//! from a live reference.

/// Asks the CPU to start loading `value`'s cache line into L1, without waiting for it. A no-op
/// on targets other than x86-64.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: PREFETCHT0 is a hint: it cannot fault and has no architectural effect (see the
    // module docs); `value` is a live reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
