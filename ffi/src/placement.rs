//! Objects that live in memory the C caller provides: the object itself, suitably
//! aligned, followed by the storage it borrows for its whole life.

use core::mem::{align_of, size_of};

/// Bytes a `T` plus `storage` bytes need in a block of any alignment.
pub(crate) const fn size<T>(storage: usize) -> usize {
    size_of::<T>() + align_of::<T>() - 1 + storage
}

/// Where a `T` goes in the caller's block `mem` of `mem_len` bytes, and its `storage`
/// bytes after it; `None` if the block is too small.
///
/// # Safety
/// `mem` must be writable for `mem_len` bytes and stay valid, and otherwise unused, until
/// the object is dropped: the storage is handed out as `'static` on that promise.
pub(crate) unsafe fn place<T>(
    mem: *mut u8,
    mem_len: usize,
    storage: usize,
) -> Option<(*mut T, &'static mut [u8])> {
    if mem.is_null() || mem_len < size::<T>(storage) {
        return None;
    }
    let offset = mem.align_offset(align_of::<T>());
    // SAFETY: offset < align_of::<T>() and the block holds offset + T + storage bytes
    // (checked above); the caller keeps the block alive and unused while the object lives.
    unsafe {
        let object = mem.add(offset).cast::<T>();
        let bytes = core::slice::from_raw_parts_mut(mem.add(offset + size_of::<T>()), storage);
        Some((object, bytes))
    }
}
