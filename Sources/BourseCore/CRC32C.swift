import CBourseSupport

/// CRC-32C (Castagnoli), as used by iSCSI, ext4 and Kafka; computed with the CPU's CRC32 instruction
/// where there is one.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return bourse_crc32c(crc, base, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
