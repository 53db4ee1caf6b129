-- Pktgen-DPDK Lua script: the flows of udp-64.pkt through pktgen.range.*.
-- Port 0 = ephemera's inside port, port 1 = its outside port.
-- DST_MAC is a placeholder for ephemera's inside port MAC (see udp-64.pkt).
-- Run: pktgen ... -- -f scripts/pktgen/udp-flows.lua  (or `script <file>`).
-- Optional globals set before loading: PKT_SIZE (default 64).
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;../?.lua"
require "Pktgen"

local DST_MAC  = "02:eb:00:00:00:01"
local PKT_SIZE = PKT_SIZE or 64

pktgen.stop("all")
pktgen.set_proto("0", "udp")
pktgen.set_mac("0", "dst", DST_MAC)
pktgen.set_ipaddr("0", "src", "192.0.2.10/24")
pktgen.set_ipaddr("0", "dst", "203.0.113.10")
pktgen.set("0", "size", PKT_SIZE)

-- port 1 answers ARP for 203.0.113.10, ephemera's next hop
pktgen.set_ipaddr("1", "src", "203.0.113.10/24")
pktgen.process("1", "on")

pktgen.range.ip_proto("0", "udp")
pktgen.range.dst_mac("0", "start", DST_MAC)

pktgen.range.src_ip("0", "start", "192.0.2.10")
pktgen.range.src_ip("0", "min",   "192.0.2.10")
pktgen.range.src_ip("0", "max",   "192.0.2.200")
pktgen.range.src_ip("0", "inc",   "0.0.0.1")

pktgen.range.dst_ip("0", "start", "203.0.113.10")
pktgen.range.dst_ip("0", "min",   "203.0.113.10")
pktgen.range.dst_ip("0", "max",   "203.0.113.10")
pktgen.range.dst_ip("0", "inc",   "0.0.0.0")

pktgen.range.src_port("0", "start", 1024)
pktgen.range.src_port("0", "min",   1024)
pktgen.range.src_port("0", "max",   65535)
pktgen.range.src_port("0", "inc",   1)

pktgen.range.dst_port("0", "start", 9)
pktgen.range.dst_port("0", "min",   9)
pktgen.range.dst_port("0", "max",   9)
pktgen.range.dst_port("0", "inc",   0)

pktgen.range.pkt_size("0", "start", PKT_SIZE)
pktgen.range.pkt_size("0", "min",   PKT_SIZE)
pktgen.range.pkt_size("0", "max",   PKT_SIZE)
pktgen.range.pkt_size("0", "inc",   0)

pktgen.set_range("0", "on")
