"""Real DATASUS .dbc files for the tests, from a DBF's bytes (no .dbc can be downloaded here).

A .dbc is a dBase table whose header is kept as it is, followed by a 4-byte CRC and the records
compressed with PKWare's Data Compression Library ("implode"). :func:`dbc_of` writes the records
as literal bytes only (a valid DCL stream: uncoded literals, dictionary size 6, then the end code),
which ``pyreaddbc.dbc2dbf`` decompresses like any DATASUS file. ``cut`` truncates the compressed
stream, as an interrupted download does.
"""

from __future__ import annotations

import struct
import zlib


class _Bits:
    """An LSB-first bit writer, as DCL streams are packed."""

    def __init__(self):
        self.out, self.byte, self.n = bytearray(), 0, 0

    def put(self, value: int, bits: int) -> None:
        for i in range(bits):
            self.byte |= ((value >> i) & 1) << self.n
            self.n += 1
            if self.n == 8:
                self.out.append(self.byte)
                self.byte, self.n = 0, 0

    def bytes(self) -> bytes:
        return bytes(self.out + (bytes([self.byte]) if self.n else b""))


def implode_literals(data: bytes) -> bytes:
    """``data`` as a PKWare DCL stream of uncoded literals: header (literals uncoded, dictionary 4 KB),
    each byte as flag 0 + 8 bits, then the end-of-stream length code (519: flag 1, code 0x7F, 255)."""
    bits = _Bits()
    bits.put(0, 8)  # literals are not Huffman-coded
    bits.put(6, 8)  # 4 KB dictionary
    for byte in data:
        bits.put(0, 1)
        bits.put(byte, 8)
    bits.put(1, 1)  # a copy, not a literal:
    bits.put(0, 7)  # the code of the longest length class (7 bits, all 0 as DCL stores it)
    bits.put(255, 8)  # its 8 extra bits at their maximum: length 519, which means end of stream
    return bits.bytes()


def dbc_of(dbf: bytes, cut: int | None = None) -> bytes:
    """The .dbc of a DBF's bytes; ``cut``: keep only that many bytes of the compressed stream."""
    header_len = struct.unpack("<H", dbf[8:10])[0]
    records = dbf[header_len:]
    stream = implode_literals(records)
    return dbf[:header_len] + struct.pack("<I", zlib.crc32(records)) + (stream[:cut] if cut else stream)
