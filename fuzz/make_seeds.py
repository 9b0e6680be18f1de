#!/usr/bin/env python3
"""Writes the seed corpus under fuzz/corpus/<target>/ (small hand-made inputs, standard library only).

The seeds are committed; rerun this after changing it:  python3 fuzz/make_seeds.py
Every frame is built here from the protocol layouts: Ethernet (optionally VLAN-tagged), Linux
cooked v1/v2, BSD null/loop, raw IP; IPv4 (options, fragments), IPv6 (extension headers,
fragments); TCP and UDP. Addresses are from the documentation ranges.
"""

import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

CLIENT4 = bytes([10, 0, 0, 2])
SERVER4 = bytes([192, 0, 2, 10])
RESOLVER4 = bytes([10, 0, 0, 1])
CLIENT6 = bytes.fromhex("fd000000000000000000000000000002")
SERVER6 = bytes.fromhex("20010db8000000000000000000000010")

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


# --- transport -------------------------------------------------------------------------------------

def tcp(sport, dport, flags, payload=b"", seq=1000, ack=0, options=b""):
    options += b"\x00" * (-len(options) % 4)
    offset = (20 + len(options)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, 65535, 0, 0) + options + payload


def udp(sport, dport, payload=b""):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


# --- network ---------------------------------------------------------------------------------------

def ipv4(src, dst, proto, payload, ident=1, frag_offset=0, more=False, options=b""):
    options += b"\x00" * (-len(options) % 4)
    ihl = 5 + len(options) // 4
    flags = (0x2000 if more else 0) | (frag_offset // 8)
    total = ihl * 4 + len(payload)
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, flags, 64, proto, 0, src, dst) + options + payload


def ipv6(src, dst, next_header, payload):
    return struct.pack(">IHBB16s16s", 6 << 28, len(payload), next_header, 64, src, dst) + payload


def ipv6_hop_by_hop(next_header, rest):
    return bytes([next_header, 0]) + b"\x01\x04\x00\x00\x00\x00" + rest  # PadN, 8 bytes in all


def ipv6_fragment(next_header, offset, more, ident, rest):
    return struct.pack(">BBHI", next_header, 0, offset | (1 if more else 0), ident) + rest


# --- link ------------------------------------------------------------------------------------------

ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ethernet(ethertype, payload, vlans=()):
    header = MAC_B + MAC_A
    tags = [ETH_QINQ if i == 0 and len(vlans) > 1 else ETH_VLAN for i in range(len(vlans))]
    for tpid, vid in zip(tags, vlans):
        header += struct.pack(">HH", tpid, vid)
    return header + struct.pack(">H", ethertype) + payload


def sll(ethertype, payload):
    return struct.pack(">HHH8sH", 0, 1, 6, MAC_A + b"\x00\x00", ethertype) + payload


def sll2(ethertype, payload):
    return struct.pack(">HHIHBB8s", ethertype, 0, 2, 1, 4, 6, MAC_A + b"\x00\x00") + payload


def null_le(family, payload):
    return struct.pack("<I", family) + payload


def loop_be(family, payload):
    return struct.pack(">I", family) + payload


def arp():
    return struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, CLIENT4, b"\x00" * 6, RESOLVER4)


# --- a small conversation (IP packets, no link layer) ------------------------------------------------

def dns_query(name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)


def conversation_v4():
    c, s = CLIENT4, SERVER4
    hello = b"\x16\x03\x01\x00\x30" + bytes(48)
    return [
        ipv4(c, RESOLVER4, 17, udp(53000, 53, dns_query("api.example.com"))),
        ipv4(RESOLVER4, c, 17, udp(53, 53000, dns_query("api.example.com"))),
        ipv4(c, s, 6, tcp(50000, 443, SYN, options=b"\x02\x04\x05\xb4")),
        ipv4(s, c, 6, tcp(443, 50000, SYN | ACK, seq=5000, ack=1001)),
        ipv4(c, s, 6, tcp(50000, 443, ACK, seq=1001, ack=5001)),
        ipv4(c, s, 6, tcp(50000, 443, PSH | ACK, hello, seq=1001, ack=5001)),
        ipv4(s, c, 6, tcp(443, 50000, ACK, seq=5001, ack=1054)),
        ipv4(c, s, 6, tcp(50000, 443, FIN | ACK, seq=1054, ack=5001)),
        ipv4(s, c, 6, tcp(443, 50000, FIN | ACK, seq=5001, ack=1055)),
        ipv4(c, s, 6, tcp(50000, 443, ACK, seq=1055, ack=5002)),
        ipv4(c, s, 1, b"\x08\x00\x00\x00\x00\x01\x00\x01"),  # ICMP echo
        ipv4(c, s, 6, tcp(50001, 443, RST)),
    ]


def fragments_v4():
    body = udp(40000, 443, bytes(range(256)) * 2)  # QUIC-sized datagram, 520 bytes
    return [
        ipv4(CLIENT4, SERVER4, 17, body[:256], ident=77, more=True),
        ipv4(CLIENT4, SERVER4, 17, body[256:], ident=77, frag_offset=256),
    ]


def packets_v6():
    c, s = CLIENT6, SERVER6
    body = udp(40001, 443, bytes(300))
    return [
        ipv6(c, s, 0, ipv6_hop_by_hop(6, tcp(50002, 443, SYN))),
        ipv6(s, c, 6, tcp(443, 50002, SYN | ACK, seq=7, ack=1001)),
        ipv6(c, s, 17, udp(5353, 5353, dns_query("printer.local"))),
        ipv6(c, s, 44, ipv6_fragment(17, 0, True, 99, body[:160])),
        ipv6(c, s, 44, ipv6_fragment(17, 160, False, 99, body[160:])),
        ipv6(c, s, 58, b"\x80\x00\x00\x00\x00\x01\x00\x01"),  # ICMPv6 echo
    ]


def all_ip():
    return conversation_v4() + fragments_v4() + packets_v6()


def ethertype_of(ip):
    return ETH_IPV6 if ip[0] >> 4 == 6 else ETH_IPV4


def af_of(ip):
    return 30 if ip[0] >> 4 == 6 else 2  # AF_INET6 as on macOS, AF_INET


# --- capture files ---------------------------------------------------------------------------------

T0 = 1_700_000_000


def pcap(linktype, frames, big_endian=False, nsec=False, snaplen=65535):
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for i, f in enumerate(frames):
        frac = i * (1000 if nsec else 1) * 1000
        caplen = min(len(f), snaplen)
        out += struct.pack(e + "IIII", T0 + i, frac, caplen, len(f)) + f[:caplen]
    return out


def pad4(b):
    return b + b"\x00" * (-len(b) % 4)


def block(e, btype, body):
    body = pad4(body)
    length = 12 + len(body)
    return struct.pack(e + "II", btype, length) + body + struct.pack(e + "I", length)


def option(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + pad4(value)


def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(e, linktype, snaplen=0, options=b""):
    if options:
        options += struct.pack(e + "HH", 0, 0)
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + options)


def epb(e, interface, ts, frame, orig_len=None):
    body = struct.pack(e + "IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(frame), orig_len or len(frame))
    return block(e, 6, body + pad4(frame))


def spb(e, frame, snaplen):
    return block(e, 3, struct.pack(e + "I", len(frame)) + pad4(frame[:snaplen]))


def opb(e, interface, ts, frame):
    body = struct.pack(e + "HHIIII", interface, 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
    return block(e, 2, body + pad4(frame))


def pcapng_mixed():
    """Little-endian: ethernet (microseconds) and raw IP (nanoseconds, with a time offset) interfaces,
    every packet block type, a skipped name-resolution block; then a big-endian section with a
    linux-sll2 interface (interfaces restart per section)."""
    e = "<"
    out = shb(e)
    out += idb(e, 1, 65535)
    out += idb(e, 101, 0, option(e, 9, b"\x09") + option(e, 14, struct.pack(e + "q", 3600)))
    out += block(e, 4, struct.pack(e + "HH", 0, 0))  # empty name resolution block
    ips = all_ip()
    for i, ip in enumerate(ips[:8]):
        out += epb(e, 0, (T0 + i) * 1_000_000, ethernet(ethertype_of(ip), ip))
    for i, ip in enumerate(ips[8:14]):
        out += epb(e, 1, (T0 + 8 + i) * 1_000_000_000, ip)
    out += opb(e, 0, (T0 + 20) * 1_000_000, ethernet(ETH_ARP, arp()))
    e = ">"
    out += shb(e)
    out += idb(e, 276, 0, option(e, 9, b"\x83"))  # binary resolution, 2^-3 s
    for i, ip in enumerate(ips[14:]):
        out += epb(e, 0, (T0 + 30 + i) * 8, sll2(ethertype_of(ip), ip))
    return out


def pcapng_simple():
    """Simple packet blocks only (no timestamps), on a snaplen-limited loop interface."""
    e = "<"
    out = shb(e) + idb(e, 108, 96)
    for ip in conversation_v4()[:6]:
        out += spb(e, loop_be(af_of(ip), ip), 96)
    return out


# --- packet_decoder_fuzz records (see packet_decoder_fuzz.cc) ----------------------------------------

LINK_INDEX = {1: 0, 101: 1, 113: 2, 276: 3, 0: 4, 108: 5, 228: 6, 229: 7, 9: 8, 50: 9, 51: 10, 104: 11,
              105: 12, 127: 13, 192: 14, 204: 15, 239: 16}


def record(linktype, frame, tick=1, absolute=None):
    if absolute is not None:
        head = bytes([LINK_INDEX[linktype], 0xF0]) + struct.pack(">q", absolute)
    else:
        head = bytes([LINK_INDEX[linktype], tick])
    return head + struct.pack(">H", len(frame)) + frame


def decoder_seeds():
    ips = all_ip()
    seeds = {}
    seeds["ethernet-conversation"] = bytes([0]) + b"".join(record(1, ethernet(ethertype_of(ip), ip)) for ip in ips)
    seeds["ethernet-vlan-qinq"] = bytes([0]) + b"".join(
        [record(1, ethernet(ETH_IPV4, conversation_v4()[2], vlans=[10])),
         record(1, ethernet(ETH_IPV4, conversation_v4()[3], vlans=[20, 30])),
         record(1, ethernet(ETH_ARP, arp()))])
    seeds["sll-sll2"] = bytes([0x01]) + b"".join(
        record(113, sll(ethertype_of(ip), ip)) for ip in conversation_v4()[:5]) + b"".join(
        record(276, sll2(ethertype_of(ip), ip)) for ip in packets_v6())
    seeds["null-loop-raw"] = bytes([0x08]) + b"".join(
        [record(0, null_le(af_of(ip), ip)) for ip in conversation_v4()[:4]]
        + [record(108, loop_be(af_of(ip), ip)) for ip in packets_v6()[:3]]
        + [record(101, ip) for ip in fragments_v4()])
    seeds["ipv4-ipv6-linktypes"] = bytes([0x02]) + b"".join(
        [record(228, ip) for ip in conversation_v4()] + [record(229, ip) for ip in packets_v6()])
    # Small reassembly limits; a fragment that times out, then a complete pair; a clock jump.
    frags = fragments_v4()
    seeds["fragments-timeout"] = bytes([0x04 | 0x10]) + b"".join(
        [record(228, frags[0]), record(228, frags[1], tick=50), record(228, frags[0], tick=1),
         record(228, frags[1], tick=1), record(229, packets_v6()[3], absolute=-5),
         record(229, packets_v6()[4], absolute=2 ** 62)])
    seeds.update(tunnel_seeds())
    return seeds


def tunnel_seeds():
    """Link types of issue 13 and every tunnel, each around the same small IPv4/IPv6 packets."""
    v4 = conversation_v4()[:4]
    v6 = packets_v6()[:3]
    ppp = lambda ip: b"\xff\x03" + struct.pack(">H", 0x0021 if ip[0] >> 4 == 4 else 0x0057) + ip
    wlan = lambda ip: (bytes([0x88, 0x01]) + bytes(22) + b"\x00\x00" + b"\xaa\xaa\x03\x00\x00\x00"
                       + struct.pack(">H", ethertype_of(ip)) + ip)
    nflog = lambda ip: (bytes([2, 0, 0, 5]) + struct.pack("<HH", 8, 1) + b"\x08\x00\x03\x00"
                        + struct.pack("<HH", 4 + len(ip), 9) + ip + bytes((4 - len(ip) % 4) % 4))
    seeds = {}
    seeds["ppp-family"] = bytes([0]) + b"".join(
        [record(9, ppp(ip)) for ip in v4] + [record(50, ppp(ip)) for ip in v6]
        + [record(204, b"\x01" + ppp(v4[0])), record(104, b"\x0f\x00\x08\x00" + v4[1]),
           record(51, struct.pack(">BBHH", 0x11, 0, 1, len(v4[2]) + 2) + ppp(v4[2])[2:])])
    seeds["nflog-wlan"] = bytes([0]) + b"".join(
        [record(239, nflog(ip)) for ip in v4] + [record(105, wlan(ip)) for ip in v6]
        + [record(127, struct.pack("<BBHIBB", 0, 0, 10, 2, 0, 0) + wlan(v4[0])),
           record(192, struct.pack("<BBHI", 0, 0, 8, 105) + wlan(v4[1])),
           record(105, bytes([0x88, 0x41]) + bytes(30))])
    gre = lambda proto, inner: struct.pack(">HHII", 0x3000, proto, 42, 7) + inner
    vx = lambda frame: udp(40000, 4789, b"\x08\x00\x00\x00\x00\x00\x2a\x00" + frame)
    outer = lambda proto, payload: ethernet(ETH_IPV4, ipv4(bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]), proto, payload))
    frame = ethernet(ETH_IPV4, v4[0])
    seeds["tunnels"] = bytes([0]) + b"".join([
        record(1, outer(47, gre(0x0800, v4[0]))),
        record(1, outer(47, gre(0x86DD, v6[0]))),
        record(1, outer(47, struct.pack(">HHI", 0x1000, 0x88BE, 1) + struct.pack(">HHI", 0x1000, 1, 0) + frame)),
        record(1, outer(47, struct.pack(">HHI", 0x1000, 0x22EB, 1) + struct.pack(">HHIHH", 0x2000, 1, 0, 0, 1)
                        + bytes(8) + frame)),
        record(1, outer(17, vx(frame))),
        record(1, outer(17, udp(40000, 6081, struct.pack(">BBHI", 1, 0, 0x0800, 0x2a00) + bytes(4) + v4[1]))),
        record(1, outer(17, udp(2152, 2152, struct.pack(">BBHIHBBBBBB", 0x34, 0xFF, 0, 1, 0, 0, 0x85, 1, 0, 9, 0)
                                + v4[2]))),
        record(1, outer(17, udp(3544, 40000, struct.pack(">HHI", 0, 0xFFFF, 0xFFFFFFFF) + v6[1]))),
        record(1, outer(4, v4[3])),
        record(1, outer(41, v6[2])),
        record(1, ethernet(0x8847, struct.pack(">II", (100 << 12) | 64, (200 << 12) | 0x140) + v4[0])),
        record(1, ethernet(0x8864, struct.pack(">BBHH", 0x11, 0, 1, len(v4[1]) + 2) + b"\x00\x21" + v4[1])),
        record(1, outer(4, ipv4(RESOLVER4, RESOLVER4, 4, ipv4(RESOLVER4, RESOLVER4, 4,
                        ipv4(RESOLVER4, RESOLVER4, 4, ipv4(RESOLVER4, RESOLVER4, 17, vx(frame))))))),
    ])
    return seeds


# --- flow_table_fuzz operations (see flow_table_fuzz.cc) ---------------------------------------------

def op(src, dst, tcp_, step, ports, flags=0, packets=1, payload=0):
    return bytes([src | dst << 2 | (0x10 if tcp_ else 0) | step << 5, ports, flags, (payload << 2) | (packets - 1)])


def flow_seeds():
    seeds = {}
    # Port indexes: 3 = 443, 10 = 40000. A handshake, data, close, then the port reused.
    hs = [op(0, 2, 1, 1, 10 | 3 << 4, SYN), op(2, 0, 1, 1, 3 | 10 << 4, SYN | ACK),
          op(0, 2, 1, 1, 10 | 3 << 4, ACK), op(0, 2, 1, 1, 10 | 3 << 4, PSH | ACK, payload=40),
          op(0, 2, 1, 1, 10 | 3 << 4, FIN | ACK), op(2, 0, 1, 1, 3 | 10 << 4, FIN | ACK),
          op(0, 2, 1, 2, 10 | 3 << 4, SYN)]
    seeds["tcp-handshake-close-reuse"] = bytes([0x04]) + b"".join(hs)
    # UDP both ways, then idle long enough to expire, with a client CIDR.
    seeds["udp-idle-client"] = bytes([0x08 | 0x04]) + b"".join(
        [op(0, 1, 0, 1, 1 | 11 << 4), op(1, 0, 0, 1, 11 | 1 << 4, packets=3), op(3, 3, 0, 5, 0x55),
         op(0, 2, 0, 4, 0x9A), op(0, 2, 0, 6, 0x9A)])
    # Tiny table: bursts force eviction; a large table: bursts force growth.
    seeds["evict-burst"] = bytes([0x02]) + op(0, 2, 0, 7, 40) + op(1, 2, 1, 1, 0x3A, SYN) + op(0, 2, 0, 7, 20)
    seeds["grow-burst"] = bytes([0x05]) + op(0, 2, 0, 7, 255) * 3 + op(0, 2, 1, 5, 0x3A, RST)
    return seeds


# --- main ------------------------------------------------------------------------------------------

def main():
    ips = all_ip()
    eth_frames = [ethernet(ethertype_of(ip), ip) for ip in ips] + [ethernet(ETH_ARP, arp())]
    mixed = pcapng_mixed()
    simple = pcapng_simple()
    corpus = {
        "pcapng_reader_fuzz": {"mixed-le-be-sections.pcapng": mixed, "simple-blocks-loop.pcapng": simple},
        "pcap_file_fuzz": {
            "ethernet-usec-le.pcap": pcap(1, eth_frames),
            "raw-nsec-be.pcap": pcap(101, ips, big_endian=True, nsec=True),
            "sll-snaplen-64.pcap": pcap(113, [sll(ethertype_of(ip), ip) for ip in conversation_v4()], snaplen=64),
            "null-le.pcap": pcap(0, [null_le(af_of(ip), ip) for ip in packets_v6()]),
            "mixed-le-be-sections.pcapng": mixed,
            "simple-blocks-loop.pcapng": simple,
        },
        "packet_decoder_fuzz": decoder_seeds(),
        "flow_table_fuzz": flow_seeds(),
    }
    total = 0
    for target, files in corpus.items():
        d = os.path.join(CORPUS, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            total += len(data)
    print(f"wrote {sum(len(f) for f in corpus.values())} seeds, {total} bytes, under {CORPUS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
