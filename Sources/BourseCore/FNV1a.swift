/// FNV-1a, 64 bits: a fast, stable hash for checksums and tags (not for anything an attacker chooses).
// Inlinable: the engine's state hash and recovery's checksum call it from other modules, byte by byte.
@inlinable
public func fnv1a(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var hash = seed
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}
