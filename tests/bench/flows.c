/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bench's flows and packets: flow i's 5-tuple, its inside packet, the
 * packets expected on either side built from first principles (full
 * checksums, never the data plane's incremental ones), the byte-by-byte
 * checks, and the flow-popularity sequences (uniform, Zipf).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "tests/bench/bench.h"

#define ETH_LEN            ((uint16_t)sizeof(struct rte_ether_hdr))
#define IP_LEN             ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define IP_OFF             ETH_LEN
#define L4_OFF             (ETH_LEN + IP_LEN)
#define MAX_REPORTED       5 /* mismatches printed in full; the rest are only counted */
#define MAX_PORTS_PER_PAIR 55000
#define BITMAP_BITS        ((uint64_t)B_MAX_POOL * B_N_REMOTES * 65536)

/* What one frame carries; every packet of the bench is one of these. */
struct frame {
	struct rte_ether_addr src_mac, dst_mac;
	uint32_t src, dst; /* host order */
	uint16_t sport, dport;
	uint8_t proto, ttl, tcp_flags;
	uint32_t tag; /* flow index: IP id and payload */
};

uint64_t
bench_rand(uint64_t *state)
{
	/* splitmix64: deterministic, so every run replays the same sequence */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
bench_host_mac(uint16_t host, struct rte_ether_addr *mac)
{
	*mac = (struct rte_ether_addr){{0x02, 0, 0x0a, 0, (uint8_t)(host >> 8), (uint8_t)host}};
}

int
bench_flows_init(struct bench_flows *f, uint32_t n, uint8_t proto, const uint16_t *hosts,
		 uint32_t n_hosts)
{
	memset(f, 0, sizeof(*f));
	/* Inside ports 10000 + k, k < MAX_PORTS_PER_PAIR per host and remote: all distinct. */
	if (n_hosts == 0 || (uint64_t)n > (uint64_t)n_hosts * B_N_REMOTES * MAX_PORTS_PER_PAIR)
		return -1;
	f->n = n;
	f->proto = proto;
	f->n_hosts = n_hosts;
	f->n_remotes = B_N_REMOTES;
	f->hosts = malloc(n_hosts * sizeof(*f->hosts));
	f->map = calloc(n, sizeof(*f->map));
	f->host_addr = malloc(B_MAX_HOSTS);
	f->used = calloc(BITMAP_BITS / 64, sizeof(uint64_t));
	if (f->hosts == NULL || f->map == NULL || f->host_addr == NULL || f->used == NULL) {
		bench_flows_free(f);
		return -1;
	}
	memcpy(f->hosts, hosts, n_hosts * sizeof(*f->hosts));
	memset(f->host_addr, -1, B_MAX_HOSTS);
	return 0;
}

void
bench_flows_free(struct bench_flows *f)
{
	free(f->hosts);
	free(f->map);
	free(f->host_addr);
	free(f->used);
	memset(f, 0, sizeof(*f));
}

/*
 * Flow i: host slot i % H, then remote endpoint, then inside port, so that
 * consecutive flows spread over hosts and destinations and any n gives n
 * distinct 5-tuples.
 */
void
bench_tuple(const struct bench_flows *f, uint32_t i, struct bench_tuple *t)
{
	uint32_t slot = i % f->n_hosts;
	uint32_t rest = i / f->n_hosts;
	uint32_t e = rest % f->n_remotes;
	uint32_t k = rest / f->n_remotes;

	t->host = f->hosts[slot];
	t->remote = (uint16_t)e;
	t->in_addr = B_HOST_BASE + t->host;
	t->in_port = (uint16_t)(10000 + k);
	t->remote_addr = B_REMOTE_NET + 1 + (e & 63);
	t->remote_port = (uint16_t)(B_REMOTE_PORT + (e >> 6));
}

static void
frame_write(uint8_t *buf, const struct frame *fr)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + IP_OFF);
	uint8_t *l4 = buf + L4_OFF;
	uint16_t l4_len = B_FRAME_LEN - L4_OFF;
	uint8_t *payload;
	uint16_t hdr_len;

	eth->dst_addr = fr->dst_mac;
	eth->src_addr = fr->src_mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(B_FRAME_LEN - ETH_LEN),
		.packet_id = rte_cpu_to_be_16((uint16_t)fr->tag),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = fr->ttl,
		.next_proto_id = fr->proto,
		.src_addr = rte_cpu_to_be_32(fr->src),
		.dst_addr = rte_cpu_to_be_32(fr->dst),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	if (fr->proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4;

		hdr_len = sizeof(*tcp);
		*tcp = (struct rte_tcp_hdr){
			.src_port = rte_cpu_to_be_16(fr->sport),
			.dst_port = rte_cpu_to_be_16(fr->dport),
			.sent_seq = rte_cpu_to_be_32(fr->tag * 2654435761u),
			.recv_ack = (fr->tcp_flags & RTE_TCP_ACK_FLAG) ? RTE_BE32(1) : 0,
			.data_off = (sizeof(*tcp) / 4) << 4,
			.tcp_flags = fr->tcp_flags,
			.rx_win = RTE_BE16(0xffff),
		};
	} else {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)l4;

		hdr_len = sizeof(*udp);
		*udp = (struct rte_udp_hdr){
			.src_port = rte_cpu_to_be_16(fr->sport),
			.dst_port = rte_cpu_to_be_16(fr->dport),
			.dgram_len = rte_cpu_to_be_16(l4_len),
		};
	}
	payload = l4 + hdr_len;
	memcpy(payload, &fr->tag, sizeof(fr->tag));
	for (uint16_t k = sizeof(fr->tag); k < l4_len - hdr_len; k++)
		payload[k] = (uint8_t)(fr->tag * 31 + k * 7);
	/* Full computation, from scratch: the reference the data plane's deltas must meet. */
	if (fr->proto == IPPROTO_TCP)
		((struct rte_tcp_hdr *)l4)->cksum = rte_ipv4_udptcp_cksum(ip, l4);
	else
		((struct rte_udp_hdr *)l4)->dgram_cksum = rte_ipv4_udptcp_cksum(ip, l4);
}

static void
frame_inside(struct bench_ctx *x, const struct bench_flows *f, uint32_t i, uint8_t tcp_flags,
	     struct frame *fr)
{
	struct bench_tuple t;

	bench_tuple(f, i, &t);
	bench_host_mac(t.host, &fr->src_mac);
	fr->dst_mac = x->dp.ports[B_IN].mac;
	fr->src = t.in_addr;
	fr->dst = t.remote_addr;
	fr->sport = t.in_port;
	fr->dport = t.remote_port;
	fr->proto = f->proto;
	fr->ttl = B_TTL;
	fr->tcp_flags = f->proto == IPPROTO_TCP ? tcp_flags : 0;
	fr->tag = i;
}

static uint8_t *
mbuf_frame(struct rte_mbuf *m)
{
	rte_pktmbuf_reset(m);
	return (uint8_t *)rte_pktmbuf_append(m, B_FRAME_LEN);
}

void
bench_inside_packet(struct bench_ctx *x, const struct bench_flows *f, uint32_t i, uint8_t tcp_flags,
		    struct rte_mbuf *m)
{
	struct frame fr;

	frame_inside(x, f, i, tcp_flags, &fr);
	frame_write(mbuf_frame(m), &fr);
}

/* Flow i as it leaves the outside port, translated to pool address a, port out_port. */
static void
frame_outside(struct bench_ctx *x, const struct bench_flows *f, uint32_t i, uint8_t tcp_flags,
	      unsigned int a, uint16_t out_port, struct frame *fr)
{
	frame_inside(x, f, i, tcp_flags, fr);
	fr->src_mac = x->dp.ports[B_OUT].mac;
	fr->dst_mac = x->router_mac;
	fr->src = x->pool[a];
	fr->sport = out_port;
	fr->ttl = B_TTL - 1;
}

void
bench_reply_packet(struct bench_ctx *x, const struct bench_flows *f, uint32_t i, uint8_t tcp_flags,
		   struct rte_mbuf *m)
{
	uint32_t map = f->map[i];
	struct frame fr;

	frame_outside(x, f, i, tcp_flags, (map >> 16) & 0x7fff, (uint16_t)map, &fr);
	frame_write(mbuf_frame(m), &fr);
	bench_turnaround(m);
}

void
bench_frame(struct rte_mbuf *m, const struct rte_ether_addr *src_mac,
	    const struct rte_ether_addr *dst_mac, uint32_t src, uint32_t dst, uint16_t sport,
	    uint16_t dport, uint8_t proto, uint8_t tcp_flags, uint32_t tag)
{
	struct frame fr = {
		.src_mac = *src_mac, .dst_mac = *dst_mac, .src = src, .dst = dst,
		.sport = sport, .dport = dport, .proto = proto, .ttl = B_TTL,
		.tcp_flags = tcp_flags, .tag = tag,
	};

	frame_write(mbuf_frame(m), &fr);
}

void
bench_turnaround(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t *ports = (uint16_t *)(ip + 1);
	struct rte_ether_addr mac = eth->src_addr;
	uint32_t a = ip->src_addr;
	uint16_t p = ports[0];

	/* Sums are commutative: no checksum changes. */
	eth->src_addr = eth->dst_addr;
	eth->dst_addr = mac;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ports[0] = ports[1];
	ports[1] = p;
}

void
bench_set_tcp_flags(struct rte_mbuf *m, uint8_t flags)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, IP_OFF);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);

	tcp->tcp_flags = flags;
	if (flags & RTE_TCP_ACK_FLAG)
		tcp->recv_ack = RTE_BE32(1);
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
}

static void
hexdump(const char *title, const uint8_t *p, unsigned int len)
{
	fprintf(stderr, "  %s:", title);
	for (unsigned int k = 0; k < len; k++)
		fprintf(stderr, "%s%02x", k % 20 == 0 ? "\n    " : " ", p[k]);
	fprintf(stderr, "\n");
}

static int
mismatch(struct bench_ctx *x, const char *side, uint32_t i, const char *why, struct rte_mbuf *m,
	 const uint8_t *want)
{
	if (x->mismatches++ < MAX_REPORTED) {
		fprintf(stderr, "ephemera-bench: %s: MISMATCH on the %s side, flow %u: %s\n",
			x->c->name, side, i, why);
		if (want != NULL)
			hexdump("expected", want, B_FRAME_LEN);
		hexdump("got", rte_pktmbuf_mtod(m, const uint8_t *),
			RTE_MIN(rte_pktmbuf_data_len(m), 128u));
	}
	return 1;
}

static int
pool_index(const struct bench_ctx *x, uint32_t addr_host)
{
	for (unsigned int a = 0; a < x->n_pool; a++)
		if (x->pool[a] == addr_host)
			return (int)a;
	return -1;
}

int
bench_check_outside(struct bench_ctx *x, struct bench_flows *f, uint32_t i, uint8_t tcp_flags,
		    struct rte_mbuf *m, unsigned int owner, unsigned int n_workers)
{
	const struct rte_ipv4_hdr *ip;
	uint8_t want[B_FRAME_LEN];
	struct bench_tuple t;
	struct frame fr;
	uint16_t port;
	int a;

	if (rte_pktmbuf_data_len(m) != B_FRAME_LEN || rte_pktmbuf_pkt_len(m) != B_FRAME_LEN)
		return mismatch(x, "outside", i, "length changed", m, NULL);
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, IP_OFF);
	if (f->map[i] == 0) {
		/* First sight of the mapping: judge it, then hold the data plane to it. */
		uint64_t bit;

		bench_tuple(f, i, &t);
		a = pool_index(x, rte_be_to_cpu_32(ip->src_addr));
		port = rte_be_to_cpu_16(*(const uint16_t *)(ip + 1));
		if (a < 0)
			return mismatch(x, "outside", i, "source is not a pool address", m, NULL);
		if (f->host_addr[t.host] < 0)
			f->host_addr[t.host] = (int8_t)a;
		if (f->host_addr[t.host] != a)
			return mismatch(x, "outside", i,
					"host not paired with one pool address (RFC 4787 REQ-2)", m,
					NULL);
		if (port < x->conf.pools[0].port_lo || port > x->conf.pools[0].port_hi ||
		    port % n_workers != owner)
			return mismatch(x, "outside", i, "port outside the worker's share", m,
					NULL);
		bit = ((uint64_t)a * B_N_REMOTES + t.remote) * 65536 + port;
		if (f->used[bit / 64] & (1ULL << (bit % 64)))
			return mismatch(x, "outside", i, "port already in use for this destination",
					m, NULL);
		f->used[bit / 64] |= 1ULL << (bit % 64);
		f->map[i] = 1u << 31 | (uint32_t)a << 16 | port;
	}
	frame_outside(x, f, i, tcp_flags, (f->map[i] >> 16) & 0x7fff, (uint16_t)f->map[i], &fr);
	frame_write(want, &fr);
	if (memcmp(rte_pktmbuf_mtod(m, const uint8_t *), want, B_FRAME_LEN) != 0)
		return mismatch(x, "outside", i, "bytes differ from the expected translation", m,
				want);
	return 0;
}

int
bench_check_inside(struct bench_ctx *x, const struct bench_flows *f, uint32_t i, uint8_t tcp_flags,
		   struct rte_mbuf *m)
{
	uint8_t want[B_FRAME_LEN];
	struct rte_ipv4_hdr *ip;
	struct frame fr;
	uint16_t sum;

	if (rte_pktmbuf_data_len(m) != B_FRAME_LEN || rte_pktmbuf_pkt_len(m) != B_FRAME_LEN)
		return mismatch(x, "inside", i, "length changed", m, NULL);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, IP_OFF);
	if (rte_raw_cksum(ip, IP_LEN) != 0xffff)
		return mismatch(x, "inside", i, "IP header checksum does not verify", m, NULL);
	if (ip->time_to_live != B_TTL - 2)
		return mismatch(x, "inside", i, "TTL is not 2 less than sent", m, NULL);
	/* Back to what the host sent: turned around, TTL and header checksum as sent. */
	bench_turnaround(m);
	frame_inside(x, f, i, tcp_flags, &fr);
	frame_write(want, &fr);
	sum = ip->hdr_checksum;
	ip->time_to_live = B_TTL;
	ip->hdr_checksum = ((const struct rte_ipv4_hdr *)(want + IP_OFF))->hdr_checksum;
	if (memcmp(rte_pktmbuf_mtod(m, const uint8_t *), want, B_FRAME_LEN) != 0) {
		ip->time_to_live = B_TTL - 2;
		ip->hdr_checksum = sum;
		return mismatch(x, "inside", i,
				"round trip is not byte-identical (TTL and IP checksum excepted)",
				m, want);
	}
	return 0;
}

/* ---- flow popularity --------------------------------------------------- */

/* Odd multiplier coprime with n: rank -> flow, so popular flows are not neighbours in memory. */
static uint64_t
spread_multiplier(uint32_t n)
{
	uint64_t m = 2654435761u % n;

	if (m == 0)
		m = 1;
	for (;;) {
		uint64_t a = m, b = n;

		while (b != 0) {
			uint64_t r = a % b;

			a = b;
			b = r;
		}
		if (a == 1)
			return m;
		m++;
	}
}

uint32_t *
bench_sequence(uint32_t flows, uint64_t n, bool zipf, uint64_t seed)
{
	uint32_t *seq = malloc(n * sizeof(*seq));
	uint64_t st = seed;
	double *cdf = NULL;
	uint32_t *guide = NULL;
	uint64_t mult;

	if (seq == NULL)
		return NULL;
	if (!zipf) {
		for (uint64_t k = 0; k < n; k++)
			seq[k] = (uint32_t)(((bench_rand(&st) >> 32) * flows) >> 32);
		return seq;
	}
	/*
	 * Zipf s = 1.0: P(rank k) ~ 1 / (k + 1). Inversion of the exact CDF,
	 * with a guide table (Chen and Asau) so a draw is O(1) on average
	 * instead of a cache-missing binary search over flows entries.
	 */
	cdf = malloc((size_t)flows * sizeof(*cdf));
	guide = malloc((size_t)(flows + 1) * sizeof(*guide));
	if (cdf == NULL || guide == NULL) {
		free(cdf);
		free(guide);
		free(seq);
		return NULL;
	}
	{
		double sum = 0;

		for (uint32_t k = 0; k < flows; k++) {
			sum += 1.0 / (k + 1.0);
			cdf[k] = sum;
		}
		for (uint32_t k = 0; k < flows; k++)
			cdf[k] /= sum;
		cdf[flows - 1] = 1.0;
	}
	for (uint32_t g = 0, k = 0; g <= flows; g++) {
		double u = (double)g / flows;

		while (k < flows - 1 && cdf[k] < u)
			k++;
		guide[g] = k;
	}
	mult = spread_multiplier(flows);
	for (uint64_t j = 0; j < n; j++) {
		double u = (double)(bench_rand(&st) >> 11) * 0x1.0p-53;
		uint32_t k = guide[(uint32_t)(u * flows)];

		while (cdf[k] < u)
			k++;
		seq[j] = (uint32_t)((k * mult) % flows);
	}
	free(cdf);
	free(guide);
	return seq;
}
