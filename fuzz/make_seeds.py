#!/usr/bin/env python3
"""fuzz/make_seeds.py: writes the seed corpora fuzz/corpus/cidr/ and
fuzz/corpus/ops/, one small input per file with a readable name.

    python3 fuzz/make_seeds.py          (re)write the seeds
    python3 fuzz/make_seeds.py --check  exit 1 if a seed is missing or differs

The committed corpora are its output plus whatever was merged in later
(inputs a campaign found, fixed crashes): it only writes the files it names
and never deletes anything.

cidr inputs are "CIDR" or "CIDR\\nCONNECTING" (see fuzz_cidr.c); ops inputs
are the little byte programs fuzz_ops.c reads, built here with the helpers
below, which follow the opcode table at the top of fuzz_ops.c.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

V4C = b"192.0.2.77"
V6C = b"2001:db8:1:2:3:4:5:6"
MAPC = b"::ffff:192.0.2.77"


def rel(mask, conn):
    return mask + b"\n" + conn


CIDR = {
    # ---- valid forms
    "v4-host": b"192.0.2.1",
    "v4-prefix": b"192.0.2.0/24",
    "v4-host-bits-ignored": b"192.0.2.77/24",
    "v4-default": b"0.0.0.0/0",
    "v4-all-ones-32": b"255.255.255.255/32",
    "v4-mask-1": b"198.51.100.7/1",
    "v4-mask-31": b"192.0.2.255/31",
    "v6-full-leading-zeros": b"2001:0db8:0000:0000:0000:0000:0000:0001",
    "v6-compressed-prefix": b"2001:db8::/32",
    "v6-unspecified": b"::",
    "v6-default": b"::/0",
    "v6-loopback-128": b"::1/128",
    "v6-upper-case": b"2001:DB8::ABCD",
    "v6-mixed-case-mask": b"2001:Db8::aBcD/128",
    "v6-all-ones-mask-1": b"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1",
    "v6-double-colon-last": b"1:2:3:4:5:6:7::",
    "v6-double-colon-first": b"::2:3:4:5:6:7:8",
    "v6-host-bits-ignored": b"2001:db8:85a3::8a2e:370:7334/64",
    "v6-bracketed-prefix": b"[2001:db8::1]/64",
    "v6-bracketed-host": b"[2001:db8::1]",
    "v6-bracketed-default": b"[::]/0",
    "v6-dotted-tail": b"::1.2.3.4",
    "v6-dotted-tail-full": b"1:2:3:4:5:6:1.2.3.4",
    "v6-nat64-tail": b"64:ff9b::192.0.2.33/96",
    "v6-rfc5952-tie": b"2001:db8:0:0:1:0:0:1",
    "v6-rfc5952-single-zero": b"2001:db8:0:1:1:1:1:1",
    "v6-twin-of-v4": b"::c000:201",
    "mapped-host": b"::ffff:192.0.2.1",
    "mapped-upper": b"::FFFF:192.0.2.1",
    "mapped-hex": b"::ffff:c000:201",
    "mapped-full": b"0:0:0:0:0:ffff:c000:0201",
    "mapped-prefix-120": b"::ffff:192.0.2.0/120",
    "mapped-prefix-96": b"::ffff:0:0/96",
    "mapped-prefix-95-stays-v6": b"::ffff:0:0/95",
    "mapped-bracketed": b"[::ffff:192.0.2.1]/128",
    "not-mapped-fffe": b"::fffe:c000:201",
    "relative-v4-24": rel(b"/24", V4C),
    "relative-v4-32": rel(b"/32", V4C),
    "relative-v4-0": rel(b"/0", V4C),
    "relative-v6-64": rel(b"/64", V6C),
    "relative-v6-24-is-v6": rel(b"/24", V6C),
    "relative-v6-128": rel(b"/128", V6C),
    "relative-mapped-connecting": rel(b"/24", MAPC),
    "relative-raw4-connecting": rel(b"/16", bytes([192, 0, 2, 77])),
    "relative-raw16-connecting": rel(b"/48", bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1])),
    "relative-raw17-v4-padding": rel(b"/8", bytes([4, 10, 1, 2, 3] + [0xee] * 12)),
    "relative-family-byte-6": rel(b"/0", b"\x06"),
    "absolute-ignores-connecting": rel(b"10.0.0.1/8", V6C),
    # ---- errors, one class at a time (SPEC "Counting", sc_parse_code)
    "err-empty": b"",
    "err-space-leading": b" 192.0.2.1",
    "err-space-tab-before-mask": b"192.0.2.1\t/24",
    "err-space-cr": b"2001:db8::1\r",
    "err-space-vt": b"192.0.2.1\x0b",
    "err-nul-inside": b"192.0.2\x00.1",
    "err-zone": b"fe80::1%eth0",
    "err-zone-with-mask": b"fe80::1%eth0/64",
    "err-zone-bracketed": b"[fe80::1%eth0]/64",
    "err-zone-numeric": b"fe80::%1",
    "err-zone-on-v4": b"192.0.2.1%eth0",
    "err-netmask": b"192.0.2.0/255.255.255.0",
    "err-netmask-relative": rel(b"/255.255.255.0", V4C),
    "err-v4-shorthand-mask": b"10/8",
    "err-v4-shorthand-two": b"10.1",
    "err-v4-shorthand-three": b"10.1.2",
    "err-v4-shorthand-one-mask": b"10.1/16",
    "err-v4-octet-range": b"10.0.0.256/8",
    "err-v4-octet-range-first": b"256.0.0.0",
    "err-v4-octet-four-digits": b"192.0.2.1000",
    "err-v4-leading-zero": b"010.0.0.1",
    "err-v4-leading-zero-last": b"10.0.0.01",
    "err-v4-leading-zero-double": b"00.0.0.0",
    "err-v4-hex": b"0x0a.0.0.1",
    "err-v4-hex-upper": b"10.0.0.0X1",
    "err-v4-five-octets": b"1.2.3.4.5",
    "err-v4-empty-octet": b"1..2.3",
    "err-v4-letters": b"a.b.c.d",
    "err-v4-empty-last-octet": b"192.0.2./24",
    "err-v4-negative": b"1.2.3.-4",
    "err-v6-too-many-groups": b"1:2:3:4:5:6:7:8:9",
    "err-v6-eight-groups-and-dc": b"1:2:3:4:5:6:7:8::",
    "err-v6-two-double-colons": b"1::2::3",
    "err-v6-group-too-long": b"12345::1",
    "err-v6-triple-colon": b":::",
    "err-v6-triple-colon-inside": b"1:::2",
    "err-v6-single-colon-start": b":1:2:3:4:5:6:7",
    "err-v6-ends-with-colon": b"1:2:3:4:5:6:7:",
    "err-v6-too-few-groups": b"1:2:3:4:5:6:7",
    "err-v6-too-few-two": b"1:2",
    "err-v6-tail-misplaced": b"1:2:3:4:5:6:7:1.2.3.4",
    "err-v6-tail-not-last": b"::1.2.3.4:5",
    "err-v6-v4-then-dc": b"1.2.3.4::",
    "err-v6-bad-hex-digit": b"2001:db8::g",
    "err-v6-bad-hex-inside": b"2001:dg8::1",
    "err-v6-tail-shorthand": b"::ffff:1.2.3",
    "err-v6-tail-octet-range": b"::1.2.3.256",
    "err-v6-tail-leading-zero": b"::1.2.3.04",
    "err-v6-tail-hex-group": b"::a.2.3.4",
    "err-v6-tail-empty-group": b"::.1.2.3.4",
    "err-mask-missing": b"192.0.2.0/",
    "err-mask-missing-relative": rel(b"/", V4C),
    "err-mask-plus": b"192.0.2.0/+24",
    "err-mask-minus": b"192.0.2.0/-1",
    "err-mask-letter": b"192.0.2.0/a",
    "err-mask-leading-zero": b"192.0.2.0/024",
    "err-mask-v6-double-zero": b"2001:db8::/00",
    "err-mask-range-v4": b"192.0.2.0/33",
    "err-mask-range-v4-320": b"192.0.2.0/320",
    "err-mask-range-huge": b"192.0.2.0/99999999999999999999",
    "err-mask-range-v6": b"2001:db8::/129",
    "err-mask-range-mapped": b"::ffff:192.0.2.0/129",
    "err-relative-range-v4": rel(b"/33", V4C),
    "err-relative-64-of-v4": rel(b"/64", V4C),
    "err-relative-range-v6": rel(b"/129", V6C),
    "err-relative-range-mapped": rel(b"/33", MAPC),
    "err-relative-no-connecting": b"/24",
    "err-relative-no-connecting-huge": b"/4294967297",
    "err-relative-bad-family": rel(b"/24", b"\x05"),
    "err-bracket-v4": b"[192.0.2.1]",
    "err-bracket-v4-mask": b"[192.0.2.1]/24",
    "err-bracket-empty": b"[]",
    "err-bracket-mask": b"192.0.2.1/[24]",
    "err-bracket-mask-v6": b"[2001:db8::1]/[64]",
    "err-bracket-mask-relative": rel(b"/[24]", V4C),
    "err-bracket-mask-inside": b"[2001:db8::1/64]",
    "err-bracket-unclosed": b"[2001:db8::1",
    "err-bracket-unopened": b"2001:db8::1]",
    "err-bracket-unopened-v4": b"192.0.2.1]",
    "err-bracket-double": b"[[::1]]",
    "err-bracket-extra-close": b"[::1]]",
    "err-bracket-after-mask": b"2001:db8::1/64]",
    "err-bracket-tail-empty-octet": b"[::1.2.3.]",
    "err-trailing-after-mask": b"192.0.2.1/24x",
    "err-trailing-second-mask": b"192.0.2.1/24/8",
    "err-trailing-after-v6-mask": b"::1/128abc",
    "err-trailing-after-bracket": b"[::1]x",
    "err-trailing-port": b"[::1]:25",
    "err-trailing-after-v4": b"192.0.2.1x",
    "err-trailing-relative": rel(b"/24x", V4C),
}

# ------------------------------------------------------------------ fuzz_ops programs

OPEN, OPEN_RANGE, CLOSE, CLOSE_NTH, CLOSE_RANGE = 0, 2, 3, 4, 5
COUNT, COUNT_RAW, COUNT_TEXT, COUNT_FORM = 6, 8, 9, 10
SWEEP, SET, FLIP_COPY, RESOLVE_DRAIN = 12, 13, 14, 15

# pool slots (fuzz_ops.c seed_pool)
P_V4_1, P_V4_77, P_V4_OTHER, P_V4_10 = 0, 1, 2, 3
P_V6_1, P_V6_NEAR, P_V6_TWIN_LOW, P_V6_TWIN_HIGH = 4, 5, 6, 7

# address forms (bits 3-4) and flags
AS_IS, RAW_MAPPED, FROM_TEXT = 0, 1, 2


def addr(slot, form=AS_IS):
    return slot | form << 3


def bad_family(slot):
    return slot | 3 << 3 | 0x20 | 0x40


def bad_padding(slot):
    return slot | 3 << 3 | 0x20


SMTP, ECSTREAM, CONTROL, ECMMOVE2, ECCLUSTER, INBOUND_CIDR, WEB, SUBMISSION, LMTP_IN = range(9)


def config(clustering=False, extras=0):
    return (1 if clustering else 0) | extras << 1


def n_services(cfg):
    return 6 + ((cfg >> 1) & 3)


def svc(cfg, k, case=0):
    """A service byte b with b % (n + 2) == k and case bits (b >> 4) & 3 == case;
    k == n is an id just past the table's, k == n + 1 an id far out of range."""
    n = n_services(cfg)
    for b in range(256):
        if b % (n + 2) == k and (b >> 4) & 3 == case:
            return b
    raise ValueError((cfg, k, case))


class Prog:
    def __init__(self, cfg):
        self.cfg = cfg
        self.b = bytearray([cfg])

    def s(self, k, case=0):
        return svc(self.cfg, k, case)

    def open(self, a, k, rep=1):
        self.b += bytes([OPEN, a, self.s(k), rep - 1])
        return self

    def open_range(self, slot, pos, cnt, step, k, form=AS_IS):
        """cnt (1-256) addresses: pool[slot] with byte pos = byte + i * step (step odd)."""
        self.b += bytes([OPEN_RANGE, slot, pos | form << 6, cnt - 1, step, self.s(k)])
        return self

    def close_range(self, slot, pos, cnt, step, k, form=AS_IS):
        self.b += bytes([CLOSE_RANGE, slot, pos | form << 6, cnt - 1, step, self.s(k)])
        return self

    def close(self, a, k):
        self.b += bytes([CLOSE, a, self.s(k)])
        return self

    def close_nth(self, i, form=AS_IS):
        self.b += bytes([CLOSE_NTH, i, form << 3])
        return self

    def count(self, a, k, length):
        self.b += bytes([COUNT, a, self.s(k), length])
        return self

    def count_raw(self, fam, length, k, raw):
        assert len(raw) == 16
        self.b += bytes([COUNT_RAW, fam, length, self.s(k)]) + raw
        return self

    def count_text(self, text, k, conn=None, case=0):
        cb = 0x80 if conn is None else conn
        self.b += bytes([COUNT_TEXT, cb, self.s(k, case), len(text)]) + text
        return self

    def count_form(self, a, k, length, variant, case=0):
        self.b += bytes([COUNT_FORM, a, self.s(k, case), length, variant])
        return self

    def sweep(self, a, k):
        self.b += bytes([SWEEP, a, self.s(k)])
        return self

    def set(self, slot, raw, mapped=False):
        fam = 0 if len(raw) == 4 else 1
        if mapped:
            fam |= 2
            raw = raw + bytes(12)
        self.b += bytes([SET, slot, fam]) + raw
        return self

    def flip(self, slot, bit):
        self.b += bytes([FLIP_COPY, slot, bit])
        return self

    def copy(self, dst, src):
        self.b += bytes([FLIP_COPY, 0x80 | dst, src])
        return self

    def resolve(self, k, case=0):
        self.b += bytes([RESOLVE_DRAIN, self.s(k, case)])
        return self

    def drain(self):
        self.b += bytes([RESOLVE_DRAIN, 0xFF])
        return self


def ops_seeds():
    plain, full = config(), config(True, 3)
    seeds = {}
    p = Prog(plain)
    p.open(addr(P_V4_1), SMTP).count(addr(P_V4_1), SMTP, 24).close(addr(P_V4_1), SMTP)
    p.count(addr(P_V4_1), SMTP, 24)
    seeds["open-count-close-v4"] = p
    p = Prog(plain)
    p.open(addr(P_V6_1), SMTP).open(addr(P_V6_NEAR), SMTP).count(addr(P_V6_1), SMTP, 48)
    p.count(addr(P_V6_1), SMTP, 64).count(addr(P_V6_1), SMTP, 128)
    seeds["open-count-v6-prefixes"] = p
    p = Prog(plain)
    p.close(addr(P_V4_1), SMTP).open(addr(P_V4_1), SMTP).close(addr(P_V4_1), ECSTREAM)
    p.close(addr(P_V4_77), SMTP).close(addr(P_V4_1), SMTP).close(addr(P_V4_1), SMTP)
    seeds["bad-closes"] = p
    p = Prog(plain)
    p.open(addr(P_V4_1), SMTP, rep=4).count(addr(P_V4_1), SMTP, 32)
    p.close(addr(P_V4_1), SMTP).close(addr(P_V4_1), SMTP).count(addr(P_V4_1), SMTP, 32)
    seeds["same-session-many-times"] = p
    p = Prog(plain)
    p.open(addr(P_V4_1, RAW_MAPPED), SMTP).count(addr(P_V4_1), SMTP, 32)
    p.count(addr(P_V4_1, RAW_MAPPED), SMTP, 120).count(addr(P_V4_1, RAW_MAPPED), SMTP, 95)
    p.close(addr(P_V4_1, FROM_TEXT), SMTP)
    seeds["mapped-open-counts-as-v4"] = p
    p = Prog(plain)
    for slot in (P_V4_1, P_V6_TWIN_LOW, P_V6_TWIN_HIGH):
        p.open(addr(slot), SMTP)
    p.count(addr(P_V4_1), SMTP, 32).count(addr(P_V6_TWIN_LOW), SMTP, 128)
    p.count(addr(P_V6_TWIN_HIGH), SMTP, 32).count_text(b"0.0.0.0/0", SMTP)
    p.count_text(b"::/0", SMTP)
    seeds["v6-twins-of-v4"] = p
    p = Prog(plain)
    p.open(addr(P_V4_1), SMTP).open(addr(P_V4_77), SMTP).open(addr(P_V4_10), SMTP)
    p.sweep(addr(P_V4_77), SMTP)
    seeds["sweep-v4"] = p
    p = Prog(plain)
    p.open(addr(P_V6_1), CONTROL).open(addr(P_V6_NEAR), CONTROL).open(addr(P_V6_TWIN_HIGH), CONTROL)
    p.sweep(addr(P_V6_NEAR), CONTROL)
    seeds["sweep-v6"] = p
    p = Prog(plain)
    p.open(addr(P_V4_1), SMTP).open(addr(P_V4_77), SMTP).sweep(addr(P_V4_77, RAW_MAPPED), SMTP)
    seeds["sweep-mapped-0-to-128"] = p
    p = Prog(full)
    p.open(addr(P_V4_1), ECCLUSTER).open(addr(P_V4_1), WEB).open(addr(P_V6_1), LMTP_IN)
    p.resolve(ECCLUSTER, 2).resolve(WEB, 1).resolve(LMTP_IN, 3).resolve(INBOUND_CIDR, 0)
    p.count_text(b"192.0.2.0/24", ECCLUSTER, case=2).count_text(b"2001:db8::/32", LMTP_IN, case=3)
    p.resolve(n_services(full)).resolve(n_services(full) + 1)
    seeds["clustering-and-extra-services"] = p
    p = Prog(plain)
    p.resolve(ECCLUSTER).resolve(ECMMOVE2, 2).count_text(b"192.0.2.0/24", INBOUND_CIDR)
    p.open(addr(P_V4_1), ECCLUSTER).count(addr(P_V4_1), ECCLUSTER, 0)
    seeds["clustering-service-without-clustering"] = p
    p = Prog(plain)
    p.open(addr(P_V4_77), SMTP).count_text(b"/24", SMTP, conn=addr(P_V4_1))
    p.count_text(b"/120", SMTP, conn=addr(P_V4_1, RAW_MAPPED))
    p.count_text(b"/24", SMTP, conn=addr(P_V4_1, RAW_MAPPED))
    p.count_text(b"/64", SMTP, conn=addr(P_V6_1)).count_text(b"/24", SMTP)
    seeds["count-text-relative"] = p
    p = Prog(plain)
    for text in (b"10.0.0.256/8", b"fe80::1%eth0", b"192.0.2.0/255.255.255.0", b"10/8",
                 b"[192.0.2.1]", b"192.0.2.1/24x", b"1::2::3", b"", b" ::1"):
        p.count_text(text, SMTP)
    p.count_text(b"/24", SMTP, conn=bad_family(P_V4_1))
    seeds["count-text-errors"] = p
    p = Prog(plain)
    p.open(addr(P_V4_1), SMTP)
    p.count_raw(0x00, 24, SMTP, bytes([192, 0, 2, 0]) + bytes(12))
    p.count_raw(0x20, 24, SMTP, bytes([192, 0, 2, 1]) + bytes(12))            # host bits set
    p.count_raw(0x40, 33, SMTP, bytes([192, 0, 2, 1]) + bytes(12))            # /33
    p.count_raw(0x02 | 5 << 2, 0, SMTP, bytes(16))                           # family 5
    p.count_raw(0x01, 120, SMTP, bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 0]))  # mapped /120
    p.count_raw(0x20, 8, SMTP, bytes([10, 0, 0, 0]) + bytes(11) + b"\x01")     # padding
    seeds["count-raw-prefixes"] = p
    p = Prog(plain)
    p.set(P_V4_OTHER, bytes([192, 0, 2, 200])).copy(P_V4_10, P_V4_OTHER).flip(P_V4_10, 31)
    p.set(P_V6_1, bytes([198, 51, 100, 1]), mapped=True)
    p.open(addr(P_V4_OTHER), SMTP).open(addr(P_V4_10), SMTP).open(addr(P_V6_1), SMTP)
    p.count(addr(P_V4_OTHER), SMTP, 31).count(addr(P_V6_1), SMTP, 24)
    p.flip(P_V6_NEAR, 127).open(addr(P_V6_NEAR), SMTP).count(addr(P_V6_1), SMTP, 0)
    seeds["pool-set-flip-copy"] = p
    p = Prog(plain)
    p.open(bad_family(P_V4_1), SMTP).open(bad_padding(P_V4_1), SMTP)
    p.close(bad_family(P_V6_1), SMTP).open(addr(P_V4_1), n_services(plain))
    p.open(addr(P_V4_1), n_services(plain) + 1).count(addr(P_V4_1), n_services(plain), 8)
    p.count(bad_family(P_V4_1), SMTP, 8)
    seeds["invalid-addresses-and-services"] = p
    p = Prog(plain)
    p.open(addr(P_V4_77), SMTP).open(addr(P_V6_NEAR), SMTP)
    for variant in range(6):
        p.count_form(addr(P_V4_77), SMTP, 24, variant, case=variant & 3)
        p.count_form(addr(P_V4_77, RAW_MAPPED), SMTP, 120, variant)
        p.count_form(addr(P_V6_NEAR), SMTP, 48, variant)
    seeds["count-text-every-form"] = p
    p = Prog(config(True, 1))
    for slot in range(8):
        p.open(addr(slot), slot % 7, rep=2)
    p.close_nth(3).close_nth(0, RAW_MAPPED).close_nth(5, FROM_TEXT).drain()
    p.count_text(b"::/0", SMTP).open(addr(P_V4_1), SMTP)
    seeds["open-many-close-nth-drain"] = p
    p = Prog(plain)
    p.open_range(P_V4_1, 3, 256, 1, SMTP).count(addr(P_V4_1), SMTP, 24).sweep(addr(P_V4_77), SMTP)
    p.close_range(P_V4_1, 3, 200, 1, SMTP).count(addr(P_V4_1), SMTP, 24)
    p.close_range(P_V4_1, 3, 256, 1, SMTP).count(addr(P_V4_1), SMTP, 24)
    seeds["range-v4-node-grows-to-256-and-back"] = p
    p = Prog(plain)
    p.open_range(P_V4_1, 2, 130, 3, SMTP, RAW_MAPPED).open_range(P_V4_1, 1, 50, 5, SMTP)
    p.count(addr(P_V4_1), SMTP, 8).count(addr(P_V4_1), SMTP, 16).count(addr(P_V4_1), SMTP, 12)
    p.close_range(P_V4_1, 2, 80, 3, SMTP, FROM_TEXT).count(addr(P_V4_1), SMTP, 16)
    seeds["range-v4-mapped-n128-and-shards"] = p
    p = Prog(plain)
    p.open_range(P_V6_1, 15, 256, 7, CONTROL).open_range(P_V6_1, 5, 60, 1, CONTROL)
    p.set(P_V6_TWIN_LOW, bytes(10) + b"\xff\xfe" + bytes([192, 0, 2, 1]))
    p.open_range(P_V6_TWIN_LOW, 11, 3, 1, CONTROL)      # ::ffff:c000:201 among them: IPv4
    p.count_text(b"192.0.2.1", CONTROL).count_text(b"::fffe:c000:201", CONTROL)
    p.count(addr(P_V6_1), CONTROL, 120).count(addr(P_V6_1), CONTROL, 48).sweep(addr(P_V6_1), CONTROL)
    p.close_range(P_V6_1, 15, 256, 7, CONTROL).count(addr(P_V6_1), CONTROL, 64)
    seeds["range-v6-leaves-and-nodes"] = p
    return {name: bytes(prog.b) for name, prog in seeds.items()}


def write(folder, seeds, check):
    bad = 0
    os.makedirs(folder, exist_ok=True)
    for name, data in sorted(seeds.items()):
        path = os.path.join(folder, name)
        old = open(path, "rb").read() if os.path.exists(path) else None
        if old == data:
            continue
        if check:
            print(f"{path}: {'differs' if old is not None else 'missing'}")
            bad = 1
        else:
            with open(path, "wb") as f:
                f.write(data)
    return bad


def main():
    check = "--check" in sys.argv[1:]
    bad = write(os.path.join(HERE, "corpus", "cidr"), CIDR, check)
    bad |= write(os.path.join(HERE, "corpus", "ops"), ops_seeds(), check)
    return bad


if __name__ == "__main__":
    sys.exit(main())
