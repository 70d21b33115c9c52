// SPDX-License-Identifier: LGPL-2.1-or-later
//! The process heap.

/// Hands free heap memory back to the kernel.
///
/// glibc's allocator returns memory on `free` only from the top of a heap;
/// after many small objects are dropped at once (undefining thousands of
/// domains) most of it stays mapped. `malloc_trim` releases every whole
/// free page in all arenas. It takes the arena locks briefly, so callers use
/// it after bulk removals, not per call.
pub fn release_free_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only inspects and shrinks the allocator's own
    // free lists under its locks; it takes no pointers from us and is
    // safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
