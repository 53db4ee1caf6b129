/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SYN proxy (see synproxy.h): cookies, the answer to a SYN, the SYN to
 * the backend, the segments held and shifted. Answering and opening are
 * cold; the shift of an open connection is two 32-bit rewrites patched
 * into the TCP checksum.
 */
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/cksum.h"
#include "dataplane/dp.h"
#include "dataplane/flow/flow.h"
#include "dataplane/flow/tcp_state.h"
#include "dataplane/lb/proxy.h"
#include "dataplane/lb/synproxy.h"
#include "dataplane/nat/nat.h"
#include "dataplane/nat/nat_icmp.h"
#include "dataplane/tcp_opt.h"

#define ETH_HDR_LEN  ((uint16_t)sizeof(struct rte_ether_hdr))
#define IPV4_HDR_LEN ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define TCP_HDR_LEN  ((uint16_t)sizeof(struct rte_tcp_hdr))
#define MSS_OPT_LEN  4
#define SYN_LEN      (ETH_HDR_LEN + IPV4_HDR_LEN + TCP_HDR_LEN + MSS_OPT_LEN)
#define TCPOPT_EOL   0
#define TCPOPT_NOP   1
#define TCPOPT_MSS   2
#define SYN_TTL      64
#define SYN_WINDOW   65535 /* unscaled: the most a peer without window scaling can offer */
#define MSS_DEFAULT  536   /* RFC 1122: a SYN without MSS option */
#define COOKIE_MASK  0xffffffu
#define COUNT_SHIFT  24

/* The MSS a cookie can encode (Linux's IPv4 table): the largest not above the client's. */
static const uint16_t mss_table[] = {536, 1300, 1440, 1460};
#define MSS_N ((uint32_t)RTE_DIM(mss_table))

static inline uint32_t
cookie_hash(uint32_t key, uint32_t saddr, uint32_t daddr, uint32_t ports, uint32_t count)
{
	uint32_t words[4] = {saddr, daddr, ports, count};

	return rte_jhash_32b(words, 4, key);
}

uint32_t
eph_syn_cookie(uint32_t key0, uint32_t key1, uint32_t saddr, uint32_t daddr, uint32_t ports,
	       uint32_t isn, uint32_t count, uint32_t mss_idx)
{
	return cookie_hash(key0, saddr, daddr, ports, 0) + isn + (count << COUNT_SHIFT) +
	       ((cookie_hash(key1, saddr, daddr, ports, count) + mss_idx) & COOKIE_MASK);
}

/* The MSS option of a SYN (MSS_DEFAULT without one, or with malformed options). */
static uint16_t
syn_mss(const struct rte_tcp_hdr *tcp, uint16_t l4_len)
{
	uint16_t thl = (uint16_t)((tcp->data_off >> 4) * 4);
	const uint8_t *opt = (const uint8_t *)(tcp + 1);
	uint16_t n;

	if (thl <= TCP_HDR_LEN || thl > l4_len)
		return MSS_DEFAULT;
	n = (uint16_t)(thl - TCP_HDR_LEN);
	for (uint16_t i = 0; i < n;) {
		if (opt[i] == TCPOPT_EOL)
			break;
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || opt[i + 1] < 2 || i + opt[i + 1] > n)
			break;
		if (opt[i] == TCPOPT_MSS && opt[i + 1] == 4)
			return (uint16_t)(opt[i + 2] << 8 | opt[i + 3]);
		i = (uint16_t)(i + opt[i + 1]);
	}
	return MSS_DEFAULT;
}

/* IPv4 and TCP headers of a segment the balancer makes: 20 + 24 bytes, MSS option only. */
static void
segment_headers(struct rte_ipv4_hdr *ip, uint32_t src, uint16_t sport, uint32_t dst,
		uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t mss)
{
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t *opt = (uint8_t *)(tcp + 1);

	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(IPV4_HDR_LEN + TCP_HDR_LEN + MSS_OPT_LEN),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = SYN_TTL + 1, /* output takes one off */
		.next_proto_id = IPPROTO_TCP,
		.src_addr = src,
		.dst_addr = dst,
	};
	*tcp = (struct rte_tcp_hdr){
		.src_port = sport,
		.dst_port = dport,
		.sent_seq = rte_cpu_to_be_32(seq),
		.recv_ack = rte_cpu_to_be_32(ack),
		.data_off = ((TCP_HDR_LEN + MSS_OPT_LEN) / 4) << 4,
		.tcp_flags = flags,
		.rx_win = RTE_BE16(SYN_WINDOW),
	};
	opt[0] = TCPOPT_MSS;
	opt[1] = MSS_OPT_LEN;
	opt[2] = (uint8_t)(mss >> 8);
	opt[3] = (uint8_t)mss;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
}

void
eph_lb_synproxy_answer(struct eph_worker *w, const struct eph_lb_vip *v, uint16_t in_port,
		       struct rte_mbuf *m)
{
	const struct eph_nat *nat = &w->dp->nat;
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint16_t mss = syn_mss(tcp, eph_l4_len(ip));
	uint32_t isn = rte_be_to_cpu_32(tcp->sent_seq);
	uint32_t saddr = ip->src_addr, daddr = ip->dst_addr, ports, cookie, k = 0;
	uint16_t sport = tcp->src_port, dport = tcp->dst_port, offer;

	memcpy(&ports, tcp, sizeof(ports));
	while (k + 1 < MSS_N && mss_table[k + 1] <= mss)
		k++;
	cookie = eph_syn_cookie(nat->cookie_key[0], nat->cookie_key[1], saddr, daddr, ports, isn,
				eph_syn_cookie_count(w->nat.now), k);
	/* The PROXY header rides in the first segment: the client's take room for it. */
	offer = (uint16_t)(mss_table[k] - (v->proxy == EPH_LB_PROXY_V2 ? EPH_PP2_LEN : 0));
	/* The SYN's own buffer, cut or grown to the answer (frames are one buffer, see input.c). */
	if (m->data_len > SYN_LEN)
		(void)rte_pktmbuf_trim(m, (uint16_t)(m->data_len - SYN_LEN));
	else if (m->data_len < SYN_LEN && rte_pktmbuf_append(m, (uint16_t)(SYN_LEN - m->data_len)) ==
						  NULL) {
		eph_count_drop(&w->stats, EPH_DROP_mbuf_alloc_failed);
		rte_pktmbuf_free(m);
		return;
	}
	segment_headers(eph_pkt_ip(m), daddr, dport, saddr, sport, cookie, isn + 1,
			RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, offer);
	w->lb->ctr[EPH_LB_syn_cookies_sent]++;
	eph_output_send(w, in_port, m, UINT32_MAX);
}

bool
eph_lb_synproxy_check(struct eph_worker *w, const struct rte_ipv4_hdr *ip, uint16_t *mss)
{
	const struct eph_nat *nat = &w->dp->nat;
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(ip + 1);
	uint32_t count = eph_syn_cookie_count(w->nat.now);
	uint32_t isn, cookie, ports, age, then, idx;

	if (eph_tcp_event(tcp->tcp_flags) != EPH_TCP_EV_ACK)
		goto invalid;
	memcpy(&ports, tcp, sizeof(ports));
	isn = rte_be_to_cpu_32(tcp->sent_seq) - 1;
	cookie = rte_be_to_cpu_32(tcp->recv_ack) - 1;
	cookie -= cookie_hash(nat->cookie_key[0], ip->src_addr, ip->dst_addr, ports, 0) + isn;
	/* The current period or the one before; counts wrap in the cookie's 8 bits. */
	age = (count - (cookie >> COUNT_SHIFT)) & (UINT32_MAX >> COUNT_SHIFT);
	if (age > 1)
		goto invalid;
	then = count - age;
	idx = (cookie - cookie_hash(nat->cookie_key[1], ip->src_addr, ip->dst_addr, ports, then)) &
	      COOKIE_MASK;
	if (idx >= MSS_N)
		goto invalid;
	*mss = mss_table[idx];
	w->lb->ctr[EPH_LB_syn_cookie_acks_valid]++;
	return true;
invalid:
	w->lb->ctr[EPH_LB_syn_cookie_acks_invalid]++;
	return false;
}

struct rte_mbuf *
eph_lb_synproxy_syn(struct eph_worker *w, struct rte_mbuf *m, uint16_t mss)
{
	const struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(ip + 1);
	struct rte_mbuf *syn = rte_pktmbuf_alloc(w->dp->pool);
	uint8_t *frame;

	if (syn == NULL || (frame = (uint8_t *)rte_pktmbuf_append(syn, SYN_LEN)) == NULL) {
		rte_pktmbuf_free(syn);
		eph_count_drop(&w->stats, EPH_DROP_mbuf_alloc_failed);
		return NULL;
	}
	memcpy(frame, rte_pktmbuf_mtod(m, const uint8_t *), ETH_HDR_LEN);
	syn->port = m->port;
	segment_headers((struct rte_ipv4_hdr *)(frame + ETH_HDR_LEN), ip->src_addr, tcp->src_port,
			ip->dst_addr, tcp->dst_port, rte_be_to_cpu_32(tcp->sent_seq) - 1, 0,
			RTE_TCP_SYN_FLAG, mss);
	return syn;
}

/*
 * Whether one more client segment may wait: at most an eighth of the
 * buffers per worker, so that clients completing handshakes towards a
 * backend that does not answer cannot starve the data plane of them.
 */
static inline bool
may_hold(const struct eph_worker *w)
{
	return w->lb->held < w->dp->pool->size / (8 * w->dp->n_workers);
}

void
eph_lb_synproxy_opened(struct eph_worker *w, uint32_t idx, struct rte_mbuf *ack)
{
	struct eph_lb_worker *lw = w->lb;
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(eph_pkt_ip(ack) + 1);

	lw->ext[idx].delta = rte_be_to_cpu_32(tcp->recv_ack) - 1;
	if (may_hold(w)) {
		lw->ext[idx].held = ack;
		lw->held++;
	} else {
		lw->ext[idx].held = NULL; /* the ACK is made anew when the backend answers */
		rte_pktmbuf_free(ack);
	}
}

struct rte_mbuf *
eph_lb_synproxy_take_held(struct eph_lb_worker *lw, uint32_t idx)
{
	struct rte_mbuf *m = lw->ext[idx].held;

	lw->ext[idx].held = NULL;
	lw->held -= m != NULL;
	return m;
}

struct rte_mbuf *
eph_lb_synproxy_client_ack(struct eph_lb_worker *lw, const struct eph_session *s, uint32_t idx,
			   struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint32_t cookie = rte_be_to_cpu_32(tcp->sent_seq); /* the SYN-ACK, in the client's space */

	if (m->data_len > SYN_LEN)
		(void)rte_pktmbuf_trim(m, (uint16_t)(m->data_len - SYN_LEN));
	else if (m->data_len < SYN_LEN && rte_pktmbuf_append(m, (uint16_t)(SYN_LEN - m->data_len)) ==
						  NULL)
		return NULL;
	segment_headers(ip, s->in_addr, s->in_port, s->remote_addr, s->remote_port,
			lw->ext[idx].client_isn + 1, cookie + 1, RTE_TCP_ACK_FLAG, 0);
	/* No option: 20 bytes of TCP header, checksums again. */
	ip->total_length = rte_cpu_to_be_16(IPV4_HDR_LEN + TCP_HDR_LEN);
	tcp->data_off = (TCP_HDR_LEN / 4) << 4;
	(void)rte_pktmbuf_trim(m, MSS_OPT_LEN);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	return m;
}

uint32_t
eph_lb_synproxy_client_next(const struct eph_lb_worker *lw, uint32_t idx)
{
	return lw->ext[idx].delta + 1;
}

/* Payload bytes of a (validated) TCP segment. */
static inline uint32_t
payload_len(const struct rte_ipv4_hdr *ip)
{
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(ip + 1);
	uint16_t thl = (uint16_t)((tcp->data_off >> 4) * 4);
	uint16_t l4 = eph_l4_len(ip);

	return thl <= l4 ? (uint32_t)(l4 - thl) : 0;
}

enum eph_synproxy_verdict
eph_lb_synproxy_from_client(struct eph_worker *w, struct eph_session *s, uint32_t idx,
			    struct rte_mbuf *m)
{
	struct eph_lb_worker *lw = w->lb;
	struct eph_lb_conn_ext *e = &lw->ext[idx];
	const struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	uint8_t flags = ((const struct rte_tcp_hdr *)(ip + 1))->tcp_flags;

	if (likely(s->flags & EPH_LB_CONN_SYNPROXY_OPEN))
		return EPH_SYNPROXY_PASS;
	/* The balancer's own SYN, the client's RST: on to the backend as they are. */
	if (flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG))
		return EPH_SYNPROXY_PASS;
	/*
	 * One segment waits: the cookie ACK, or the first data after it (which
	 * acknowledges the same). Later ones go, for the client to send again.
	 */
	if (payload_len(ip) != 0 && ((e->held == NULL && may_hold(w)) ||
				     (e->held != NULL && payload_len(eph_pkt_ip(e->held)) == 0))) {
		rte_pktmbuf_free(eph_lb_synproxy_take_held(lw, idx));
		e->held = m;
		lw->held++;
		lw->ctr[EPH_LB_syn_proxy_held]++;
		return EPH_SYNPROXY_TAKEN;
	}
	eph_count_drop(&w->stats, EPH_DROP_lb_syn_proxy_pending);
	rte_pktmbuf_free(m);
	return EPH_SYNPROXY_TAKEN;
}

/* A client's SACK edge (the backend's number seen from the client) in the backend's space. */
static uint32_t
sack_edge_to_backend(uint32_t edge, const void *delta)
{
	return edge - *(const uint32_t *)delta;
}

void
eph_lb_synproxy_to_backend(struct eph_worker *w, struct eph_session *s, uint32_t idx,
			   struct rte_mbuf *m)
{
	struct eph_lb_worker *lw = w->lb;
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint16_t thl = (uint16_t)((tcp->data_off >> 4) * 4);
	uint32_t delta = lw->ext[idx].delta, new;

	if (unlikely(!(s->flags & EPH_LB_CONN_SYNPROXY_OPEN))) {
		/* The backend has this long to answer, not the transitory timeout. */
		if (tcp->tcp_flags & RTE_TCP_SYN_FLAG)
			eph_session_schedule(lw->conns, idx,
					     w->nat.now + EPH_SYN_PROXY_CONNECT_S * EPH_FLOW_TICK_HZ);
		return;
	}
	if (tcp->tcp_flags & RTE_TCP_ACK_FLAG) {
		new = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->recv_ack) - delta);
		tcp->cksum = eph_cksum_update32(tcp->cksum, tcp->recv_ack, new);
		tcp->recv_ack = new;
	}
	if (unlikely(thl > TCP_HDR_LEN) && thl <= eph_l4_len(ip))
		eph_tcp_sack_map(tcp, thl, sack_edge_to_backend, &delta);
}

enum eph_synproxy_verdict
eph_lb_synproxy_from_backend(struct eph_worker *w, struct eph_session *s, uint32_t idx,
			     struct rte_mbuf *m)
{
	struct eph_lb_worker *lw = w->lb;
	struct eph_lb_conn_ext *e = &lw->ext[idx];
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	enum eph_tcp_event ev = eph_tcp_event(tcp->tcp_flags);
	uint32_t new;

	if (unlikely(!(s->flags & EPH_LB_CONN_SYNPROXY_OPEN))) {
		/* Only the answer to the balancer's SYN: it acknowledges the client's ISN. */
		if ((ev != EPH_TCP_EV_SYNACK && ev != EPH_TCP_EV_RST) ||
		    !(tcp->tcp_flags & RTE_TCP_ACK_FLAG) ||
		    rte_be_to_cpu_32(tcp->recv_ack) != e->client_isn + 1) {
			eph_count_drop(&w->stats, EPH_DROP_lb_syn_proxy_pending);
			rte_pktmbuf_free(m);
			return EPH_SYNPROXY_TAKEN;
		}
		if (ev == EPH_TCP_EV_RST) {
			lw->ctr[EPH_LB_syn_proxy_refusals]++;
			return EPH_SYNPROXY_REFUSED;
		}
		e->delta -= rte_be_to_cpu_32(tcp->sent_seq); /* cookie - the backend's ISN */
		s->flags |= EPH_LB_CONN_SYNPROXY_OPEN;
		lw->ctr[EPH_LB_syn_proxy_handshakes]++;
	} else if (ev == EPH_TCP_EV_SYNACK) {
		/* Sent again (the handshake's ACK was lost): on to the client, which answers it. */
		ev = EPH_TCP_EV_ACK;
	}
	new = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->sent_seq) + e->delta);
	tcp->cksum = eph_cksum_update32(tcp->cksum, tcp->sent_seq, new);
	tcp->sent_seq = new;
	return ev == EPH_TCP_EV_SYNACK ? EPH_SYNPROXY_OPENED : EPH_SYNPROXY_PASS;
}

void
eph_lb_synproxy_quote(const struct eph_lb_worker *lw, const struct eph_session *s, uint32_t idx,
		      struct eph_icmp_quote *q, bool from_client)
{
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)q->l4;
	uint16_t ck_end = offsetof(struct rte_tcp_hdr, cksum) + 2;
	uint32_t delta = lw->ext[idx].delta;
	uint8_t *field;
	uint32_t old, new;

	if (!(s->flags & EPH_LB_CONN_SYNPROXY_OPEN))
		return;
	if (from_client) {
		/* A backend's segment as the client had it: its seq, back in the backend's space. */
		if (q->l4_len < offsetof(struct rte_tcp_hdr, recv_ack))
			return;
		field = q->l4 + offsetof(struct rte_tcp_hdr, sent_seq);
		memcpy(&old, field, sizeof(old));
		new = rte_cpu_to_be_32(rte_be_to_cpu_32(old) - delta);
	} else {
		/* A client's segment as the backend had it: its ack, in the client's space. */
		if (q->l4_len < offsetof(struct rte_tcp_hdr, data_off))
			return;
		field = q->l4 + offsetof(struct rte_tcp_hdr, recv_ack);
		memcpy(&old, field, sizeof(old));
		new = rte_cpu_to_be_32(rte_be_to_cpu_32(old) + delta);
	}
	memcpy(field, &new, sizeof(new));
	if (q->l4_len >= ck_end)
		tcp->cksum = eph_cksum_update32(tcp->cksum, old, new);
}
