/* SPDX-License-Identifier: BSD-3-Clause */
/* The DPDK test bed shared by the packet, ARP and route tests (see harness.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "control/startup.h"
#include "control/stats.h"
#include "tests/unit/eal_prefix.h"
#include "tests/unit/harness.h"

struct eph_conf t_conf;
struct eph_dp t_dp;
const struct rte_ether_addr t_host_mac = { { 0x02, 0, 0, 0, 0, 0x11 } };
const struct rte_ether_addr t_server_mac = { { 0x02, 0, 0, 0, 0, 0x10 } };

static struct eph_conf_route t_routes[1];

static void
add_port(const char *name, const char *dev, enum eph_port_role role, uint32_t addr)
{
	struct eph_conf_port *p = &t_conf.ports[t_conf.n_ports++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->device, sizeof(p->device), "%s", dev);
	p->role = role;
	p->addr = addr;
	p->prefix_len = 24;
	p->mtu = 1500;
	p->rx_desc = 256;
	p->tx_desc = 256;
}

void
t_start(const char *prefix)
{
	t_start_with(prefix, NULL);
}

void
t_start_with(const char *prefix, void (*tweak)(struct eph_conf *conf))
{
	char *argv[EPH_EAL_MAX_ARGV];
	char buf[4096];
	int argc;

	eph_conf_defaults(&t_conf);
	snprintf(t_conf.eal.lcores, sizeof(t_conf.eal.lcores), "0@0,1@0");
	t_eal_prefix(t_conf.eal.file_prefix, sizeof(t_conf.eal.file_prefix), prefix);
	snprintf(t_conf.eal.log_level, sizeof(t_conf.eal.log_level), "error");
	t_conf.eal.hugepages = false;
	t_conf.eal.memory_mb = 256;
	t_conf.control.telemetry = false;
	t_conf.dataplane.mbufs = 8191;
	add_port("inside", "net_ring0", EPH_ROLE_INSIDE, T_IN_ADDR);
	add_port("outside", "net_ring1", EPH_ROLE_OUTSIDE, T_OUT_ADDR);
	t_routes[0] = (struct eph_conf_route){
		.prefix = T_IPV4(198, 51, 100, 0), .prefix_len = 24, .via = T_ROUTER, .port = 1,
	};
	t_conf.routes = t_routes;
	t_conf.n_routes = 1;

	if (tweak != NULL)
		tweak(&t_conf);

	argc = eph_eal_args(&t_conf, "unit", argv, EPH_EAL_MAX_ARGV, buf, sizeof(buf));
	if (argc < 0 || rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "harness: EAL init failed\n");
		exit(1);
	}
	if (eph_dp_setup(&t_dp, &t_conf, stderr) != 0) {
		fprintf(stderr, "harness: data plane setup failed\n");
		exit(1);
	}
}

void
t_stop(void)
{
	t_drain();
	eph_dp_teardown(&t_dp);
	rte_eal_cleanup();
}

struct rte_ipv4_hdr *
t_ip(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
}

struct rte_mbuf *
t_ipv4_packet(const struct rte_ether_addr *src_mac, uint16_t in_port, uint32_t src, uint32_t dst,
	      uint8_t proto, uint8_t ttl, uint16_t payload_len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(t_dp.pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	uint8_t *payload;

	assert_non_null(m);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*ip) +
								     payload_len);
	assert_non_null(eth);
	eth->src_addr = *src_mac;
	eth->dst_addr = t_dp.ports[in_port].mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + payload_len)),
		.packet_id = RTE_BE16(0x1234),
		.time_to_live = ttl,
		.next_proto_id = proto,
		.src_addr = rte_cpu_to_be_32(src),
		.dst_addr = rte_cpu_to_be_32(dst),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	payload = (uint8_t *)(ip + 1);
	for (uint16_t i = 0; i < payload_len; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	m->port = t_dp.ports[in_port].port_id;
	return m;
}

unsigned int
t_sent(uint16_t p, struct rte_mbuf **pkts, unsigned int max)
{
	struct eph_worker *w = t_dp.workers[0];
	uint16_t pid = t_dp.ports[p].port_id;

	w->stats.port[p].tx += rte_eth_tx_buffer_flush(pid, 0, w->txb[p]);
	/* net_ring loops a port's tx back to its rx: read what was sent. */
	return rte_eth_rx_burst(pid, 0, pkts, (uint16_t)max);
}

void
t_drain(void)
{
	struct rte_mbuf *pkts[64];
	struct rte_mbuf *m;
	unsigned int n;

	for (uint16_t p = 0; p < t_dp.n_ports; p++)
		while ((n = t_sent(p, pkts, RTE_DIM(pkts))) > 0)
			rte_pktmbuf_free_bulk(pkts, n);
	while (rte_ring_dequeue(t_dp.to_control, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	for (unsigned int i = 0; i < t_dp.n_workers; i++)
		while (rte_ring_dequeue(t_dp.workers[i]->from_control, (void **)&m) == 0)
			rte_pktmbuf_free(m);
}

uint64_t
t_drops(enum eph_drop_reason why)
{
	struct eph_counters total;

	eph_stats_total(&t_dp, &total);
	return total.drop[why];
}

void
t_neigh_add(uint16_t port, uint32_t ip_host, const struct rte_ether_addr *mac)
{
	struct eph_neigh *n = eph_neigh_find(&t_dp.neigh, port, rte_cpu_to_be_32(ip_host));

	if (n == NULL)
		n = eph_neigh_create(&t_dp.neigh, port, rte_cpu_to_be_32(ip_host));
	assert_non_null(n);
	n = eph_neigh_set_mac(&t_dp.neigh, n, mac);
	n->state = EPH_NEIGH_REACHABLE;
}

void
t_assert_checksums(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = t_ip(m);
	uint8_t *l4 = (uint8_t *)(ip + 1);
	uint16_t l4_len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip));

	assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
	if (ip->next_proto_id == IPPROTO_ICMP)
		assert_int_equal(rte_raw_cksum(l4, l4_len), 0xffff);
	else
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, l4), 0);
}

uint16_t
t_l4_port(struct rte_mbuf *m, int off)
{
	uint16_t v;

	memcpy(&v, (uint8_t *)(t_ip(m) + 1) + off, 2);
	return rte_be_to_cpu_16(v);
}

struct rte_mbuf *
t_one_out(uint16_t p)
{
	struct rte_mbuf *out[4];

	assert_int_equal(t_sent(p, out, 4), 1);
	t_assert_checksums(out[0]);
	return out[0];
}

struct rte_mbuf *
t_l4_packet(uint16_t in_port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst,
	    uint8_t proto, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack)
{
	uint16_t len = proto == IPPROTO_TCP ? sizeof(struct rte_tcp_hdr) + 10
					     : sizeof(struct rte_udp_hdr) + 10;
	struct rte_mbuf *m = t_ipv4_packet(mac, in_port, src, dst, proto, 64, len);
	struct rte_ipv4_hdr *ip = t_ip(m);
	uint8_t *l4 = (uint8_t *)(ip + 1);
	uint16_t sp = rte_cpu_to_be_16(sport), dp = rte_cpu_to_be_16(dport);

	memcpy(l4, &sp, 2);
	memcpy(l4 + 2, &dp, 2);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)l4;

		t->data_off = 5 << 4;
		t->tcp_flags = flags;
		t->sent_seq = rte_cpu_to_be_32(seq);
		t->recv_ack = rte_cpu_to_be_32(ack);
		t->cksum = 0;
		t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	} else {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4;

		u->dgram_len = rte_cpu_to_be_16(len);
		u->dgram_cksum = 0;
		u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	}
	return m;
}

void
t_vip(struct eph_conf_vip *v, const char *name, uint32_t addr, uint16_t port, uint8_t proto)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->addr = addr;
	v->port = port;
	v->proto = proto;
	v->forwarding = EPH_LB_FULLNAT;
	v->pool = 0;
	v->maglev_size = 65537;
}

void
t_balancer_pool(struct eph_conf_pool *p, const char *vip, uint32_t *addrs, unsigned int n,
		uint16_t lo, uint16_t hi)
{
	eph_conf_pool_defaults(p);
	snprintf(p->name, sizeof(p->name), "%s", vip);
	snprintf(p->vip, sizeof(p->vip), "%s", vip);
	p->balancer = true;
	p->pooling = EPH_POOLING_ARBITRARY;
	p->addrs = addrs;
	p->n_addrs = n;
	p->port_lo = lo;
	p->port_hi = hi;
	p->quarantine_s = 1;
}

void
t_advance(struct eph_worker *w, uint32_t ticks)
{
	static uint64_t clock_tsc;

	if (clock_tsc < t_dp.nat.start_tsc)
		clock_tsc = t_dp.nat.start_tsc;
	clock_tsc += (uint64_t)ticks * t_dp.nat.tick_tsc;
	for (int i = 0; i < 256; i++)
		eph_worker_polls_run(w, clock_tsc);
}

struct rte_mbuf *
t_tcp_segment(uint16_t port, const struct rte_ether_addr *mac, uint32_t src, uint32_t dst,
	      uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
	      uint16_t win, const uint8_t *opt, uint16_t olen, const uint8_t *pay, uint16_t plen)
{
	struct rte_mbuf *m = t_ipv4_packet(mac, port, src, dst, IPPROTO_TCP, 64,
					   (uint16_t)(sizeof(struct rte_tcp_hdr) + olen + plen));
	struct rte_ipv4_hdr *ip = t_ip(m);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(ip + 1);

	memset(t, 0, sizeof(*t));
	t->src_port = rte_cpu_to_be_16(sport);
	t->dst_port = rte_cpu_to_be_16(dport);
	t->sent_seq = rte_cpu_to_be_32(seq);
	t->recv_ack = rte_cpu_to_be_32(ack);
	t->data_off = (uint8_t)(((sizeof(*t) + olen) / 4) << 4);
	t->tcp_flags = flags;
	t->rx_win = rte_cpu_to_be_16(win);
	/* memcpy from NULL is undefined even for 0 bytes (UBSan says so). */
	if (olen != 0)
		memcpy(t + 1, opt, olen);
	if (plen != 0)
		memcpy((uint8_t *)(t + 1) + olen, pay, plen);
	t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	return m;
}

struct rte_tcp_hdr *
t_tcp(struct rte_mbuf *m)
{
	return (struct rte_tcp_hdr *)(t_ip(m) + 1);
}

uint32_t
t_tcp_seq(struct rte_mbuf *m)
{
	return rte_be_to_cpu_32(t_tcp(m)->sent_seq);
}

uint32_t
t_tcp_ack(struct rte_mbuf *m)
{
	return rte_be_to_cpu_32(t_tcp(m)->recv_ack);
}

uint16_t
t_tcp_payload_len(struct rte_mbuf *m)
{
	return (uint16_t)(rte_be_to_cpu_16(t_ip(m)->total_length) - sizeof(struct rte_ipv4_hdr) -
			  (t_tcp(m)->data_off >> 4) * 4);
}

const uint8_t *
t_tcp_payload(struct rte_mbuf *m)
{
	return (const uint8_t *)t_tcp(m) + (t_tcp(m)->data_off >> 4) * 4;
}
