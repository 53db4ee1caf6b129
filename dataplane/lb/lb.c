/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The balancer's packet path (see lb.h): the client side (packets to a
 * VIP), the backend side (replies to a local address, or with destination
 * NAT routed replies from a backend), handoff, the connection clock, and
 * the sweep that resets a removed backend's connections. The hot paths
 * are a pipelined lookup and a precomputed rewrite of both addresses and
 * ports; opening, refusing and ICMP errors are cold.
 */
#include <assert.h>
#include <limits.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/cksum.h"
#include "dataplane/dp.h"
#include "dataplane/flow/flow.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"
#include "dataplane/lb/lb.h"
#include "dataplane/lb/maglev.h"
#include "dataplane/rate.h"
#include "dataplane/lb/proxy.h"
#include "dataplane/lb/synproxy.h"
#include "dataplane/nat/nat.h"
#include "dataplane/nat/nat_frag.h"
#include "dataplane/nat/nat_icmp.h"
#include "dataplane/nat/nat_rewrite.h"

#define ETH_HDR_LEN       ((uint16_t)sizeof(struct rte_ether_hdr))
#define IPV4_HDR_LEN      ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define LB_BATCH          32   /* packets per pipelined lookup (<= EPH_SESSION_BULK_MAX) */
#define EXPIRE_BUDGET     64   /* connections ended per loop by the clock */
#define SWEEP_BUDGET      2048 /* records the removed-backend sweep visits per loop */
#define ICMP_PORT_UNREACH 3
#define RST_TTL           64
/*
 * The backend-choice hash is keyed by a constant, not a secret: gateways
 * given the same configuration must send a 5-tuple to the same backend
 * (several gateways behind ECMP). The owner hash is the NAT's secret.
 */
#define PICK_SEED         0x4c42u
#define OWNER_SALT        0x9e3779b9u

static_assert(LB_BATCH <= EPH_SESSION_BULK_MAX, "a batch is one bulk lookup");
static_assert(EPH_LB_CONN_GEN == EPH_PA_GENS - 1, "a record's flags hold its port's generation");

const char *const eph_lb_counter_names[EPH_LB_CTR_MAX] = {
#define EPH_LB_CTR_NAME(name, desc) [EPH_LB_##name] = #name,
	EPH_LB_COUNTERS(EPH_LB_CTR_NAME)
#undef EPH_LB_CTR_NAME
};

const char *const eph_lb_counter_descs[EPH_LB_CTR_MAX] = {
#define EPH_LB_CTR_DESC(name, desc) [EPH_LB_##name] = desc,
	EPH_LB_COUNTERS(EPH_LB_CTR_DESC)
#undef EPH_LB_CTR_DESC
};

/* One packet on its way, with where it came in. */
struct lb_pkt {
	struct rte_mbuf *m;
	uint64_t hash; /* of its 5-tuple in the connection table, or 0: not computed */
	uint32_t cand; /* candidate record (lookahead), or EPH_SESSION_NIL */
	uint16_t in_port;
};

static inline void
drop(struct eph_worker *w, struct rte_mbuf *m, enum eph_drop_reason why)
{
	eph_count_drop(&w->stats, why);
	rte_pktmbuf_free(m);
}

static inline const struct eph_lb_vip *
vip_of_slot(const struct eph_lb_cfg *c, unsigned int slot)
{
	int8_t i = c->by_slot[slot];

	return i >= 0 ? &c->vips[i] : NULL;
}

static inline const struct eph_lb_backend *
backend_of_slot(const struct eph_lb_vip *v, unsigned int slot)
{
	uint16_t i = v->by_slot[slot];

	return i != UINT16_MAX ? &v->backends[i] : NULL;
}

/* Owner worker of a client's connection: keyed hash of its address and port. */
static inline unsigned int
client_owner(const struct eph_dp *dp, uint32_t client, uint16_t client_port)
{
	uint32_t h = rte_jhash_2words(client, client_port, dp->nat.secret ^ OWNER_SALT);

	return (unsigned int)(((uint64_t)h * dp->n_workers) >> 32);
}

/* The VIP of a packet to addr:port/proto (network order): an exact port first, then port 0. */
static const struct eph_lb_vip *
vip_find(const struct eph_lb_cfg *c, uint32_t addr, uint16_t port, uint8_t proto)
{
	const struct eph_lb_vip *any = NULL;

	for (unsigned int i = 0; i < c->n_vips; i++) {
		const struct eph_lb_vip *v = &c->vips[i];

		if (v->addr != addr || v->proto != proto)
			continue;
		if (v->port == port)
			return v;
		if (v->port == 0)
			any = v;
	}
	return any;
}

/* The backend choice of a new connection (index into v->backends, or EPH_MAGLEV_NONE). */
static inline uint16_t
pick(const struct eph_lb_vip *v, const struct rte_ipv4_hdr *ip, uint32_t ports)
{
	uint32_t h;

	if (v->hash == EPH_LB_HASH_SOURCE_IP)
		h = rte_jhash_1word(ip->src_addr, PICK_SEED);
	else
		h = rte_jhash_3words(ip->src_addr, ip->dst_addr, ports,
				     PICK_SEED ^ ip->next_proto_id);
	return eph_maglev_lookup(v->maglev, v->maglev_size, h);
}

static inline struct eph_lb_backend_stats *
bstats(struct eph_lb_worker *lw, unsigned int target)
{
	return &lw->backend[target >> EPH_LB_BACKEND_BITS]
			   [target & ((1u << EPH_LB_BACKEND_BITS) - 1)];
}

/* Both addresses and ports at once, with the connection's delta (or its complement). */
static inline void
rewrite(struct rte_ipv4_hdr *ip, uint8_t *l4, uint32_t src, uint16_t sport, uint32_t dst,
	uint16_t dport, uint16_t l3, uint16_t l4d)
{
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = eph_cksum_apply(ip->hdr_checksum, l3);
	memcpy(l4, &sport, sizeof(sport));
	memcpy(l4 + 2, &dport, sizeof(dport));
	eph_l4_cksum_patch(ip->next_proto_id, l4, l4d);
}

/*
 * Deltas of the client -> backend rewrite, (client:cport -> vip:vport)
 * into (src:sport -> dst:dport); the reply's is its complement.
 */
static struct eph_nat_delta
conn_delta(uint32_t client, uint16_t cport, uint32_t vip, uint16_t vport, uint32_t src,
	   uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint16_t a = eph_delta_words(client, src, 0, 0, true, false);
	uint16_t b = eph_delta_words(vip, dst, 0, 0, true, false);
	uint16_t c = eph_delta_words(client, src, cport, sport, true, true);
	uint16_t d = eph_delta_words(vip, dst, vport, dport, true, true);

	return (struct eph_nat_delta){
		.l3 = eph_cksum_fold((uint32_t)a + b),
		.l4 = eph_cksum_fold((uint32_t)c + d),
	};
}

/* ---- SYN flood guards ---------------------------------------------------- */

/*
 * A SYN flood at a VIP, from spoofed sources, opens connections whose
 * handshake never completes: each holds a record and a local port until
 * the transitory timeout. Two guards, each per worker and per VIP, no
 * atomics:
 *
 * - Half-open bound (half-open-per-worker). At the bound (or at the VIP's
 *   max-connections), a new SYN replaces the VIP's oldest half-open
 *   connection rather than being refused. Refusing would leave the bound full of the flood's entries
 *   for the whole transitory timeout, so no legitimate client would get
 *   in; replacing gives every handshake bound / flood-rate seconds to
 *   complete (a syncache's choice), which at the default bound and any
 *   flood one worker can take is far longer than a round trip. It is
 *   cheap (the list is FIFO, O(1) at each end) and sound: only
 *   connections that never completed a handshake are ever replaced, so
 *   established ones are never touched, and the flood cannot hold more
 *   than the bound of the table, whose default (1/16 of it) leaves the
 *   rest to established connections and other VIPs. The replaced
 *   connection's backend gets a RST (its SYN queue entry and SYN-ACK
 *   retransmissions end), and its local port goes back at once rather
 *   than resting in the quarantine: the flood would otherwise drain the
 *   ports at its own rate.
 * - New connections per second, as a GCRA token bucket on the loop's TSC.
 *   What it refuses takes neither a record nor a port.
 */

/* Half-open: never established (a RST before the handshake keeps it so, on the transitory timeout). */
static inline bool
half_open_state(uint8_t state)
{
	return state < EPH_TCP_ESTABLISHED || state == EPH_TCP_RST;
}

/* Connection idx (TCP, just opened) goes to the tail of its VIP's half-open list. */
static void
half_open_link(struct eph_lb_worker *lw, uint32_t idx, struct eph_session *s, unsigned int vslot)
{
	uint32_t *link = &lw->half_open_link[2 * (size_t)idx];
	uint32_t tail = lw->half_open_tail[vslot];

	link[0] = EPH_SESSION_NIL;
	link[1] = tail;
	if (tail == EPH_SESSION_NIL)
		lw->half_open_head[vslot] = idx;
	else
		lw->half_open_link[2 * (size_t)tail] = idx;
	lw->half_open_tail[vslot] = idx;
	s->flags |= EPH_LB_CONN_HALF_OPEN;
	lw->vip[vslot].half_open++;
}

static void
half_open_unlink(struct eph_lb_worker *lw, uint32_t idx, struct eph_session *s)
{
	unsigned int vslot = s->target >> EPH_LB_BACKEND_BITS;
	const uint32_t *link = &lw->half_open_link[2 * (size_t)idx];
	uint32_t next = link[0], prev = link[1];

	if (prev == EPH_SESSION_NIL)
		lw->half_open_head[vslot] = next;
	else
		lw->half_open_link[2 * (size_t)prev] = next;
	if (next == EPH_SESSION_NIL)
		lw->half_open_tail[vslot] = prev;
	else
		lw->half_open_link[2 * (size_t)next + 1] = prev;
	s->flags &= (uint8_t)~EPH_LB_CONN_HALF_OPEN;
	lw->vip[vslot].half_open--;
}

/* Whether the token bucket of v lets one more new connection through now (and takes it). */
static inline bool
rate_take(struct eph_lb_worker *lw, const struct eph_lb_vip *v)
{
	return eph_gcra_take(&lw->rate_tat[v->slot], lw->now_tsc, v->rate_cost, v->rate_burst);
}

static void conn_close(struct eph_worker *w, uint32_t idx, bool clean);
static void send_rst(struct eph_worker *w, uint16_t in_port, uint32_t src, uint16_t sport,
		     uint32_t dst, uint16_t dport, uint32_t seq);

/*
 * VIP slot vslot is at its half-open bound: end its oldest half-open
 * connection, telling the backend (with the sequence number it expects
 * next, when the client's SYN set it) if it may have answered.
 */
static __rte_noinline void
half_open_replace(struct eph_worker *w, uint16_t in_port, unsigned int vslot)
{
	struct eph_lb_worker *lw = w->lb;
	uint32_t idx = lw->half_open_head[vslot];
	struct eph_session *s;

	if (idx == EPH_SESSION_NIL)
		return;
	s = eph_session_get(lw->conns, idx);
	if (s->state != EPH_TCP_RST && s->state != EPH_TCP_CLOSED &&
	    (s->tcp_track & EPH_TCP_END_KNOWN(EPH_DIR_IN2OUT)))
		send_rst(w, in_port, s->out_addr, s->out_port, s->reply_addr, s->reply_port,
			 s->seq_end[EPH_DIR_IN2OUT]);
	lw->vip[vslot].half_open_replaced++;
	lw->ctr[EPH_LB_half_open_replaced]++;
	conn_close(w, idx, true);
}

/* ---- connection life ------------------------------------------------ */

static void
gauge(struct eph_lb_worker *lw, const struct eph_session *s, int delta)
{
	if (s->proto == IPPROTO_TCP)
		lw->conns_tcp += (uint64_t)(int64_t)delta;
	else
		lw->conns_udp += (uint64_t)(int64_t)delta;
}

/* End connection idx: its port back to the pool, counters down, the record freed. */
static void
conn_close(struct eph_worker *w, uint32_t idx, bool clean)
{
	struct eph_lb_worker *lw = w->lb;
	struct eph_session *s = eph_session_get(lw->conns, idx);
	unsigned int vslot = s->target >> EPH_LB_BACKEND_BITS;

	if (s->flags & EPH_LB_CONN_PORT)
		eph_nat_port_give(w, s->pool, s->flags & EPH_LB_CONN_GEN, s->reply_addr,
				  s->reply_port, s->proto, s->out_addr, s->out_port, clean);
	if (s->flags & EPH_LB_CONN_HALF_OPEN)
		half_open_unlink(lw, idx, s);
	lw->vip[vslot].active--;
	bstats(lw, s->target)->active--;
	gauge(lw, s, -1);
	lw->ctr[EPH_LB_connections_closed]++;
	lw->closes++;
	if (unlikely(s->flags & EPH_LB_CONN_SYNPROXY))
		rte_pktmbuf_free(eph_lb_synproxy_take_held(lw, idx));
	eph_session_delete(lw->conns, idx);
}

static void send_rst(struct eph_worker *w, uint16_t in_port, uint32_t src, uint16_t sport,
		     uint32_t dst, uint16_t dport, uint32_t seq);

static void
conn_expired(struct eph_session_table *t, uint32_t idx, void *arg)
{
	struct eph_worker *w = arg;
	const struct eph_session *s = eph_session_get(t, idx);

	/* The backend never answered the SYN: a failure for passive detection. */
	if (s->proto == IPPROTO_TCP && s->state == EPH_TCP_SYN_SENT)
		bstats(w->lb, s->target)->connect_failures++;
	/* The SYN proxy's client thinks itself connected: it learns otherwise. */
	if ((s->flags & (EPH_LB_CONN_SYNPROXY | EPH_LB_CONN_SYNPROXY_OPEN)) ==
	    EPH_LB_CONN_SYNPROXY) {
		w->lb->ctr[EPH_LB_syn_proxy_refusals]++;
		send_rst(w, 0, s->remote_addr, s->remote_port, s->in_addr, s->in_port,
			 eph_lb_synproxy_client_next(w->lb, idx));
	}
	conn_close(w, idx, s->proto == IPPROTO_TCP && eph_tcp_closed_cleanly(s->state));
}

/* A TCP RST from src:sport to dst:dport (network order) with sequence seq, built anew. */
static void
send_rst(struct eph_worker *w, uint16_t in_port, uint32_t src, uint16_t sport, uint32_t dst,
	 uint16_t dport, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->dp->pool);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;

	if (m == NULL) {
		eph_count_drop(&w->stats, EPH_DROP_mbuf_alloc_failed);
		return;
	}
	ip = (struct rte_ipv4_hdr *)((uint8_t *)rte_pktmbuf_append(
					     m, ETH_HDR_LEN + IPV4_HDR_LEN + sizeof(*tcp)) +
				     ETH_HDR_LEN);
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	memset(rte_pktmbuf_mtod(m, void *), 0, ETH_HDR_LEN);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(IPV4_HDR_LEN + sizeof(*tcp)),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = RST_TTL + 1, /* output takes one off */
		.next_proto_id = IPPROTO_TCP,
		.src_addr = src,
		.dst_addr = dst,
	};
	*tcp = (struct rte_tcp_hdr){
		.src_port = sport,
		.dst_port = dport,
		.sent_seq = rte_cpu_to_be_32(seq),
		.data_off = (sizeof(*tcp) / 4) << 4,
		.tcp_flags = RTE_TCP_RST_FLAG,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	w->lb->ctr[EPH_LB_resets_sent]++;
	eph_output_send(w, in_port, m, UINT32_MAX);
}

/*
 * Reset connection idx on both sides (its backend was removed with
 * on-remove: reset), then end it. Each side gets the sequence number it
 * expects next, when the connection's tracking knows it.
 */
static void
conn_reset(struct eph_worker *w, uint16_t in_port, uint32_t idx)
{
	struct eph_session *s = eph_session_get(w->lb->conns, idx);

	if (s->proto == IPPROTO_TCP && s->state != EPH_TCP_RST) {
		uint32_t to_client = s->tcp_track & EPH_TCP_END_KNOWN(EPH_DIR_OUT2IN)
					     ? s->seq_end[EPH_DIR_OUT2IN] : 0;
		uint32_t to_backend = s->tcp_track & EPH_TCP_END_KNOWN(EPH_DIR_IN2OUT)
					      ? s->seq_end[EPH_DIR_IN2OUT] : 0;

		/* The tracker keeps the client's space; the backend counts the PROXY header too. */
		if ((s->flags & EPH_LB_CONN_PROXY) &&
		    (s->tcp_track & EPH_TCP_END_KNOWN(EPH_DIR_IN2OUT)))
			to_backend = eph_lb_proxy_seq_to_backend(w->lb, s, idx, to_backend);
		/* The SYN proxy's client, before the backend answered, expects the cookie + 1. */
		if ((s->flags & (EPH_LB_CONN_SYNPROXY | EPH_LB_CONN_SYNPROXY_OPEN)) ==
		    EPH_LB_CONN_SYNPROXY)
			to_client = eph_lb_synproxy_client_next(w->lb, idx);

		send_rst(w, in_port, s->remote_addr, s->remote_port, s->in_addr, s->in_port,
			 to_client);
		send_rst(w, in_port, s->out_addr, s->out_port, s->reply_addr, s->reply_port,
			 to_backend);
	}
	conn_close(w, idx, false);
}

/* Whether record s's backend was removed with on-remove: reset (cold check on the hot path). */
static inline bool
backend_reset(const struct eph_lb_cfg *c, const struct eph_session *s)
{
	const struct eph_lb_vip *v = vip_of_slot(c, s->target >> EPH_LB_BACKEND_BITS);
	const struct eph_lb_backend *b;

	if (v == NULL)
		return true; /* the VIP is gone */
	b = backend_of_slot(v, s->target & ((1u << EPH_LB_BACKEND_BITS) - 1));
	return b == NULL || (b->state != EPH_LB_BACKEND_ACTIVE &&
			     v->on_remove == EPH_LB_REMOVE_RESET);
}

/*
 * Answer a refused SYN with a RST from the VIP, reusing its buffer
 * (RFC 793: seq 0, ACK of the SYN and its data; to an ACK, a syn-proxy
 * cookie ACK: seq its ack, no ACK).
 */
static void
refuse_rst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint32_t seg = eph_l4_len(ip) - (uint32_t)((tcp->data_off >> 4) * 4) + 1;
	uint32_t addr = ip->src_addr;
	uint16_t port = tcp->src_port;

	ip->src_addr = ip->dst_addr;
	ip->dst_addr = addr;
	tcp->src_port = tcp->dst_port;
	tcp->dst_port = port;
	if ((tcp->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_ACK_FLAG) {
		tcp->sent_seq = tcp->recv_ack;
		tcp->recv_ack = 0;
		tcp->tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		tcp->recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->sent_seq) + seg);
		tcp->sent_seq = 0;
		tcp->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	tcp->data_off = (sizeof(*tcp) / 4) << 4;
	tcp->rx_win = 0;
	tcp->tcp_urp = 0;
	ip->total_length = rte_cpu_to_be_16(IPV4_HDR_LEN + sizeof(*tcp));
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - ETH_HDR_LEN - IPV4_HDR_LEN -
				       sizeof(*tcp)));
	ip->time_to_live = RST_TTL + 1;
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	w->lb->ctr[EPH_LB_resets_sent]++;
	eph_output_send(w, in_port, m, UINT32_MAX);
}

/* Refuse a new connection to v as v's refusal says, counting why. Consumes m. */
static void
refuse(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, const struct eph_lb_vip *v,
       enum eph_drop_reason why)
{
	uint8_t how = v != NULL ? v->refusal : EPH_LB_REFUSE_RESET;

	eph_count_drop(&w->stats, why);
	if (how == EPH_LB_REFUSE_RESET && eph_pkt_ip(m)->next_proto_id == IPPROTO_TCP) {
		refuse_rst(w, in_port, m);
		return;
	}
	if (how != EPH_LB_REFUSE_DROP)
		eph_icmp_error(w, in_port, m, EPH_ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
	rte_pktmbuf_free(m);
}

/*
 * The SYN flood guards for a new connection to v (m: its first packet):
 * false once m is refused over the rate; at the half-open bound, room made.
 */
static inline bool
flood_guard(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, const struct eph_lb_vip *v)
{
	struct eph_lb_worker *lw = w->lb;

	if (v->rate_cost != 0 && !rate_take(lw, v)) {
		lw->vip[v->slot].rate_limited++;
		lw->ctr[EPH_LB_rate_limited]++;
		refuse(w, in_port, m, v, EPH_DROP_lb_rate_limited);
		return false;
	}
	/*
	 * At max-connections too: else a flood would fill that limit with
	 * handshakes it never completes and lock every client out.
	 */
	if (v->proto == IPPROTO_TCP &&
	    (lw->vip[v->slot].half_open >= v->max_half_open ||
	     (v->max_conns != 0 && lw->vip[v->slot].active >= v->max_conns)))
		half_open_replace(w, in_port, v->slot);
	return true;
}

/*
 * Open a connection for the first packet m of a flow to a VIP (a TCP SYN
 * or a UDP datagram): pick the backend, take a local port, insert the
 * record. Returns its index, or -1 once m is refused or dropped. On a
 * syn-proxy VIP a SYN is answered with a cookie instead, and an ACK whose
 * cookie checks opens: it is held, and p->m becomes the SYN to the backend.
 */
static __rte_noinline int32_t
conn_open(struct eph_worker *w, struct lb_pkt *p, struct eph_session **sp)
{
	struct eph_lb_worker *lw = w->lb;
	const struct eph_lb_cfg *c = w->cfg->lb;
	struct rte_ipv4_hdr *ip = eph_pkt_ip(p->m);
	const uint8_t *l4 = (const uint8_t *)(ip + 1);
	const struct eph_lb_vip *v;
	const struct eph_lb_backend *b;
	struct eph_lb_backend_stats *bs;
	struct eph_flow_key in_key, reply_key;
	struct eph_nat_delta d;
	struct eph_session *s;
	uint16_t cport, vport, bport, lport;
	uint32_t ports, laddr;
	uint8_t gen = 0, flags = 0;
	uint16_t bi, cookie_mss = 0;
	int32_t idx;

	memcpy(&ports, l4, sizeof(ports));
	memcpy(&cport, l4, sizeof(cport));
	memcpy(&vport, l4 + 2, sizeof(vport));
	v = c != NULL ? vip_find(c, ip->dst_addr, vport, ip->next_proto_id) : NULL;
	if (v == NULL) {
		refuse(w, p->in_port, p->m, NULL, EPH_DROP_lb_no_vip);
		return -1;
	}
	/* The side array exists before a snapshot with a syn-proxy VIP is published. */
	if (unlikely(v->syn_proxy == EPH_LB_SYN_PROXY_ON) && lw->ext != NULL) {
		if (eph_tcp_event(((const struct rte_tcp_hdr *)l4)->tcp_flags) == EPH_TCP_EV_SYN) {
			eph_lb_synproxy_answer(w, v, p->in_port, p->m);
			return -1;
		}
		if (!eph_lb_synproxy_check(w, ip, &cookie_mss)) {
			drop(w, p->m, EPH_DROP_lb_syn_cookie_invalid);
			return -1;
		}
	} else if (ip->next_proto_id == IPPROTO_TCP &&
		   eph_tcp_event(((const struct rte_tcp_hdr *)l4)->tcp_flags) != EPH_TCP_EV_SYN) {
		drop(w, p->m, EPH_DROP_lb_no_connection);
		return -1;
	}
	if (!flood_guard(w, p->in_port, p->m, v))
		return -1;
	if (v->max_conns != 0 && lw->vip[v->slot].active >= v->max_conns) {
		lw->vip[v->slot].over_limit++;
		refuse(w, p->in_port, p->m, v, EPH_DROP_lb_over_limit);
		return -1;
	}
	bi = v->n_backends != 0 ? pick(v, ip, ports) : EPH_MAGLEV_NONE;
	if (bi == EPH_MAGLEV_NONE) {
		lw->vip[v->slot].no_backend++;
		refuse(w, p->in_port, p->m, v, EPH_DROP_lb_no_backend);
		return -1;
	}
	b = &v->backends[bi];
	bs = &lw->backend[v->slot][b->slot];
	if (b->max_conns != 0 && bs->active >= b->max_conns) {
		bs->over_limit++;
		lw->vip[v->slot].over_limit++;
		refuse(w, p->in_port, p->m, v, EPH_DROP_lb_over_limit);
		return -1;
	}
	bport = b->port != 0 ? b->port : vport;
	if (v->forwarding == EPH_LB_FULLNAT) {
		int rc = eph_nat_port_take(w, (unsigned int)v->pool,
					   rte_jhash_1word(ip->src_addr, PICK_SEED), b->addr, bport,
					   cport, ip->next_proto_id, &laddr, &lport, &gen);

		if (rc != 0) {
			bs->no_port++;
			lw->vip[v->slot].no_port++;
			refuse(w, p->in_port, p->m, v,
			       rc == -ENOSPC ? EPH_DROP_lb_no_port : EPH_DROP_lb_table_full);
			return -1;
		}
		flags = (uint8_t)(gen | EPH_LB_CONN_PORT);
		/* The side array exists before a snapshot with a PROXY VIP is published. */
		if (v->proxy == EPH_LB_PROXY_V2 && lw->ext != NULL)
			flags |= EPH_LB_CONN_PROXY;
	} else {
		laddr = ip->src_addr;
		lport = cport;
	}
	in_key = (struct eph_flow_key){
		.src_addr = ip->src_addr, .dst_addr = ip->dst_addr,
		.src_port = cport, .dst_port = vport, .proto = ip->next_proto_id,
	};
	reply_key = (struct eph_flow_key){
		.src_addr = b->addr, .dst_addr = laddr,
		.src_port = bport, .dst_port = lport, .proto = ip->next_proto_id,
	};
	idx = eph_session_insert(lw->conns, &in_key, &reply_key, &s);
	if (idx < 0) {
		if (flags & EPH_LB_CONN_PORT)
			eph_nat_port_give(w, (unsigned int)v->pool, gen, b->addr, bport,
					  ip->next_proto_id, laddr, lport, true);
		drop(w, p->m, idx == -EEXIST ? EPH_DROP_lb_no_connection : EPH_DROP_lb_table_full);
		return -1;
	}
	if (cookie_mss != 0) {
		struct rte_mbuf *syn = eph_lb_synproxy_syn(w, p->m, cookie_mss);

		if (syn == NULL) {
			eph_session_delete(lw->conns, (uint32_t)idx);
			eph_nat_port_give(w, (unsigned int)v->pool, gen, b->addr, bport,
					  ip->next_proto_id, laddr, lport, true);
			rte_pktmbuf_free(p->m); /* counted */
			return -1;
		}
		flags |= EPH_LB_CONN_SYNPROXY;
		eph_lb_synproxy_opened(w, (uint32_t)idx, p->m);
		p->m = syn;
		ip = eph_pkt_ip(syn);
		l4 = (const uint8_t *)(ip + 1);
	}
	d = conn_delta(ip->src_addr, cport, ip->dst_addr, vport, laddr, lport, b->addr, bport);
	s->l3_delta = d.l3;
	s->l4_delta = d.l4;
	s->state = ip->next_proto_id == IPPROTO_TCP ? EPH_TCP_CLOSED : EPH_SESS_ACTIVE;
	s->pool = (uint8_t)(v->pool >= 0 ? v->pool : 0);
	s->flags = flags;
	if (flags & (EPH_LB_CONN_PROXY | EPH_LB_CONN_SYNPROXY))
		lw->ext[idx].client_isn =
			rte_be_to_cpu_32(((const struct rte_tcp_hdr *)l4)->sent_seq);
	s->target = (uint16_t)(v->slot << EPH_LB_BACKEND_BITS | b->slot);
	s->expire = w->nat.now + eph_flow_timeout(&w->cfg->nat.timeouts, s);
	eph_session_schedule(lw->conns, (uint32_t)idx, s->expire);
	/*
	 * A SYN proxy's connection is no flood's: its client proved its
	 * address with a cookie, so it never joins the half-open bound.
	 */
	if (s->proto == IPPROTO_TCP && !(flags & EPH_LB_CONN_SYNPROXY))
		half_open_link(lw, (uint32_t)idx, s, v->slot);
	lw->vip[v->slot].active++;
	lw->vip[v->slot].total++;
	bs->active++;
	bs->total++;
	gauge(lw, s, 1);
	lw->ctr[EPH_LB_connections_created]++;
	*sp = s;
	return idx;
}

/* A TCP SYN alone (no ACK): what may open, or reopen, a connection. */
static inline bool
is_syn(const struct rte_ipv4_hdr *ip)
{
	return ip->next_proto_id == IPPROTO_TCP &&
	       eph_tcp_event(((const struct rte_tcp_hdr *)(ip + 1))->tcp_flags) == EPH_TCP_EV_SYN;
}

/*
 * A packet passes through connection idx in direction dir: TCP state,
 * counters, idle timer. false: a RST outside the window (drop it).
 */
static inline bool
conn_touch(struct eph_worker *w, uint32_t idx, struct eph_session *s,
	   const struct rte_ipv4_hdr *ip, int dir)
{
	struct eph_lb_worker *lw = w->lb;
	struct eph_lb_backend_stats *bs = bstats(lw, s->target);
	uint16_t len = rte_be_to_cpu_16(ip->total_length);
	uint8_t prev;

	if (s->proto == IPPROTO_TCP && !eph_flow_tcp_update(s, ip, dir, &prev))
		return false;
	/*
	 * Passive detection (control/health.c): the backend refused the SYN
	 * (RST), or the client sent its SYN again, having had no SYN-ACK
	 * within its retransmission timeout.
	 */
	if (unlikely(prev == EPH_TCP_SYN_SENT) && s->proto == IPPROTO_TCP &&
	    (s->state == EPH_TCP_RST || (dir == EPH_DIR_IN2OUT && is_syn(ip))))
		bs->connect_failures++;
	if (unlikely(s->flags & EPH_LB_CONN_HALF_OPEN) && !half_open_state(s->state))
		half_open_unlink(lw, idx, s);
	if (dir == EPH_DIR_IN2OUT) {
		s->pkts_out++;
		bs->pkts_to++;
		bs->bytes_to += len;
	} else {
		s->pkts_in++;
		bs->pkts_from++;
		bs->bytes_from += len;
	}
	eph_session_refresh(lw->conns, idx,
			    w->nat.now + eph_flow_timeout(&w->cfg->nat.timeouts, s));
	return true;
}


/* Closing or closed: a new SYN on the 5-tuple is a new connection, maybe to another backend. */
static inline bool
tcp_reopenable(uint8_t state)
{
	return state >= EPH_TCP_FIN_IN;
}

/* ---- ICMP errors -------------------------------------------------------- */

/* Rewrite an ICMP error's quote in place: addresses, ports, inner checksums (cold). */
static void
quote_rewrite(struct eph_icmp_quote *q, uint32_t src, uint16_t sport, uint32_t dst,
	      uint16_t dport, uint16_t l3, uint16_t l4d)
{
	q->ip->src_addr = src;
	q->ip->dst_addr = dst;
	q->ip->hdr_checksum = eph_cksum_apply(q->ip->hdr_checksum, l3);
	memcpy(q->l4, &sport, sizeof(sport));
	memcpy(q->l4 + 2, &dport, sizeof(dport));
	/* The inner L4 checksum when quoted (TCP's sits past the first 8 bytes). */
	if (q->l4_len >= eph_l4_cksum_offset(q->proto) + 2)
		eph_l4_cksum_patch(q->proto, q->l4, l4d);
}

/* Outer header and ICMP checksum once the quote is rewritten. */
static void
error_finish(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);

	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, eph_l4_len(ip));
}

/*
 * An ICMP error about a connection's packet: from the client's side (the
 * quote is one the VIP sent: vip -> client), or from the backend's (the
 * quote is one a local address sent: local -> backend). Translated for
 * the other side, path MTU discovery included. Returns false when it
 * names no connection (m then still the caller's).
 */
static bool
icmp_error(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, bool from_client)
{
	struct eph_lb_worker *lw = w->lb;
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct eph_icmp_quote q;
	struct eph_flow_key k;
	struct eph_session *s;
	uint16_t qsport, qdport;
	int32_t idx;

	if (!eph_icmp_error_quote(ip, rte_be_to_cpu_16(ip->total_length), &q) ||
	    (q.proto != IPPROTO_TCP && q.proto != IPPROTO_UDP) || q.l4_len < 4)
		return false;
	memcpy(&qsport, q.l4, sizeof(qsport));
	memcpy(&qdport, q.l4 + 2, sizeof(qdport));
	/* The quote went the other way: its reverse is the key. */
	k = (struct eph_flow_key){
		.src_addr = q.ip->dst_addr, .dst_addr = q.ip->src_addr,
		.src_port = qdport, .dst_port = qsport, .proto = q.proto,
	};
	idx = eph_session_lookup(lw->conns, &k);
	if (idx < 0)
		return false;
	s = eph_session_get(lw->conns, (uint32_t)idx);
	if (from_client) {
		/* Quote vip -> client becomes backend -> local; the error goes to the backend. */
		quote_rewrite(&q, s->reply_addr, s->reply_port, s->out_addr, s->out_port,
			      s->l3_delta, s->l4_delta);
		if (s->flags & EPH_LB_CONN_PROXY)
			eph_lb_proxy_quote(lw, s, (uint32_t)idx, &q, true);
		if (s->flags & EPH_LB_CONN_SYNPROXY)
			eph_lb_synproxy_quote(lw, s, (uint32_t)idx, &q, true);
		error_finish(ip, s->flags & EPH_LB_CONN_PORT ? s->out_addr : ip->src_addr,
			     s->reply_addr);
	} else {
		/* Quote local -> backend becomes client -> vip; the error goes to the client from the VIP. */
		quote_rewrite(&q, s->in_addr, s->in_port, s->remote_addr, s->remote_port,
			      (uint16_t)~s->l3_delta, (uint16_t)~s->l4_delta);
		if (s->flags & EPH_LB_CONN_PROXY)
			eph_lb_proxy_quote(lw, s, (uint32_t)idx, &q, false);
		if (s->flags & EPH_LB_CONN_SYNPROXY)
			eph_lb_synproxy_quote(lw, s, (uint32_t)idx, &q, false);
		error_finish(ip, s->remote_addr, s->in_addr);
	}
	lw->ctr[EPH_LB_icmp_errors_translated]++;
	eph_output_send(w, in_port, m, UINT32_MAX);
	return true;
}

/* ---- client side ------------------------------------------------------- */

/* The keys of a batch as the packets carry them (either side: a packet's 5-tuple is its key). */
static inline void
batch_keys(const struct eph_session_table *t, const struct lb_pkt *p, unsigned int n,
	   struct eph_flow_key *keys, uint64_t *hash, uint32_t *cand)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip = eph_pkt_ip(p[i].m);
		uint64_t addrs, tail;
		uint32_t ports;

		memcpy(&addrs, &ip->src_addr, sizeof(addrs));
		memcpy(&ports, ip + 1, sizeof(ports));
		tail = eph_flow_tail(ports, ip->next_proto_id);
		eph_flow_key_set(&keys[i], addrs, tail);
		hash[i] = p[i].hash != 0 ? p[i].hash : eph_session_hash_halves(t, addrs, tail);
		cand[i] = p[i].hash != 0 ? p[i].cand : EPH_SESSION_NIL;
	}
}

/*
 * Record idx for client packet p, found by the batch's lookup (or -1):
 * a SYN on a closing 5-tuple closes it and opens anew, a first packet
 * opens. Returns the index, or -1 once the packet is dropped or refused.
 */
static inline int32_t
client_conn(struct eph_worker *w, struct lb_pkt *p, const struct eph_flow_key *key,
	    uint64_t hash, int32_t idx, struct eph_session **sp)
{
	struct eph_lb_worker *lw = w->lb;
	struct eph_session_table *t = lw->conns;
	struct eph_session *s;

	if (likely(idx >= 0)) {
		s = eph_session_get(t, (uint32_t)idx);
		if (likely(s->proto != IPPROTO_TCP) || likely(!tcp_reopenable(s->state)) ||
		    !is_syn(eph_pkt_ip(p->m))) {
			*sp = s;
			return idx;
		}
		/* A new connection on an old 5-tuple: chosen afresh, never the stale backend. */
		conn_close(w, (uint32_t)idx, eph_tcp_closed_cleanly(s->state));
		lw->ctr[EPH_LB_syn_reopened]++;
	}
	/* An earlier packet of the batch may have opened it. */
	idx = eph_session_lookup_with_hash(t, key, hash);
	if (idx >= 0) {
		*sp = eph_session_get(t, (uint32_t)idx);
		return idx;
	}
	return conn_open(w, p, sp);
}

static void synproxy_answered(struct eph_worker *w, struct lb_pkt *p, uint32_t idx,
			      struct eph_session *s, enum eph_synproxy_verdict vd);

/*
 * The owner's half for up to LB_BATCH packets of one side (dir: from the
 * client, EPH_DIR_IN2OUT, or from the backend): one pipelined lookup, then
 * each packet through its connection (a client's first packet opens one),
 * rewritten (the reply with the delta's complement), sent.
 */
static void
conns_owned(struct eph_worker *w, struct lb_pkt *p, unsigned int n, int dir)
{
	struct eph_lb_worker *lw = w->lb;
	struct eph_session_table *t = lw->conns;
	const struct eph_lb_cfg *c = w->cfg->lb;
	struct eph_flow_key keys[LB_BATCH];
	uint64_t hash[LB_BATCH];
	uint32_t cand[LB_BATCH];
	int32_t idx[LB_BATCH];
	struct rte_mbuf *out[LB_BATCH];
	uint16_t out_port[LB_BATCH];
	uint32_t out_nh[LB_BATCH];
	unsigned int n_out = 0;
	uint32_t closes;

	if (unlikely(n == 0))
		return;
	batch_keys(t, p, n, keys, hash, cand);
	eph_session_lookup_bulk(t, keys, hash, cand, n, idx);

	closes = lw->closes;
	for (unsigned int i = 0; i < n; i++) {
		struct rte_ipv4_hdr *ip = eph_pkt_ip(p[i].m);
		struct eph_session *s = NULL;

		/*
		 * An earlier packet of the batch ended a connection (a SYN that
		 * replaced a half-open one, a reopen, a reset): the lookup's
		 * index may name a freed, or reused, record.
		 */
		if (unlikely(lw->closes != closes))
			idx[i] = eph_session_lookup_with_hash(t, &keys[i], hash[i]);
		if (dir == EPH_DIR_IN2OUT) {
			idx[i] = client_conn(w, &p[i], &keys[i], hash[i], idx[i], &s);
			if (idx[i] < 0)
				continue;
			ip = eph_pkt_ip(p[i].m); /* a syn-proxy opening: the SYN to the backend */
		} else if (unlikely(idx[i] < 0)) {
			drop(w, p[i].m, EPH_DROP_lb_no_connection);
			continue;
		} else {
			s = eph_session_get(t, (uint32_t)idx[i]);
		}
		if (unlikely(c == NULL || backend_reset(c, s))) {
			conn_reset(w, p[i].in_port, (uint32_t)idx[i]);
			drop(w, p[i].m, EPH_DROP_lb_backend_removed);
			continue;
		}
		if (unlikely(s->flags & EPH_LB_CONN_SYNPROXY)) {
			enum eph_synproxy_verdict vd =
				dir == EPH_DIR_IN2OUT
					? eph_lb_synproxy_from_client(w, s, (uint32_t)idx[i], p[i].m)
					: eph_lb_synproxy_from_backend(w, s, (uint32_t)idx[i], p[i].m);

			if (vd == EPH_SYNPROXY_TAKEN)
				continue;
			if (vd != EPH_SYNPROXY_PASS) {
				synproxy_answered(w, &p[i], (uint32_t)idx[i], s, vd);
				continue;
			}
		}
		/* The tracker sees the client's sequence space (proxy.h, synproxy.h). */
		if (unlikely(s->flags & EPH_LB_CONN_PROXY) && dir == EPH_DIR_OUT2IN)
			eph_lb_proxy_to_client(lw, s, (uint32_t)idx[i], p[i].m);
		if (unlikely(!conn_touch(w, (uint32_t)idx[i], s, ip, dir))) {
			drop(w, p[i].m, EPH_DROP_nat_tcp_rst_out_of_window);
			continue;
		}
		if (unlikely(s->flags & EPH_LB_CONN_PROXY) && dir == EPH_DIR_IN2OUT) {
			if (!eph_lb_proxy_to_backend(lw, s, (uint32_t)idx[i], p[i].m)) {
				drop(w, p[i].m, EPH_DROP_lb_proxy_no_room);
				continue;
			}
			ip = eph_pkt_ip(p[i].m);
		}
		if (unlikely(s->flags & EPH_LB_CONN_SYNPROXY) && dir == EPH_DIR_IN2OUT)
			eph_lb_synproxy_to_backend(w, s, (uint32_t)idx[i], p[i].m);
		if (dir == EPH_DIR_IN2OUT)
			rewrite(ip, (uint8_t *)(ip + 1), s->out_addr, s->out_port, s->reply_addr,
				s->reply_port, s->l3_delta, s->l4_delta);
		else
			rewrite(ip, (uint8_t *)(ip + 1), s->remote_addr, s->remote_port, s->in_addr,
				s->in_port, (uint16_t)~s->l3_delta, (uint16_t)~s->l4_delta);
		out[n_out] = p[i].m;
		out_port[n_out] = p[i].in_port;
		out_nh[n_out++] = UINT32_MAX;
	}
	lw->ctr[dir == EPH_DIR_IN2OUT ? EPH_LB_client_packets : EPH_LB_reply_packets] += n_out;
	eph_output_send_burst(w, out_port, out, out_nh, (uint16_t)n_out);
}

/*
 * The backend answered the SYN proxy's SYN (p: its SYN-ACK or RST, already
 * in the client's sequence space), tracked like any reply and not sent on:
 * after a SYN-ACK the held client segment goes to the backend as the
 * handshake's last ACK; after a RST the client is reset and the
 * connection ends.
 */
static __rte_noinline void
synproxy_answered(struct eph_worker *w, struct lb_pkt *p, uint32_t idx, struct eph_session *s,
		  enum eph_synproxy_verdict vd)
{
	struct eph_lb_worker *lw = w->lb;
	struct rte_mbuf *held;

	if (s->flags & EPH_LB_CONN_PROXY)
		eph_lb_proxy_to_client(lw, s, idx, p->m);
	(void)conn_touch(w, idx, s, eph_pkt_ip(p->m), EPH_DIR_OUT2IN);
	if (vd == EPH_SYNPROXY_REFUSED) {
		rte_pktmbuf_free(p->m);
		send_rst(w, p->in_port, s->remote_addr, s->remote_port, s->in_addr, s->in_port,
			 eph_lb_synproxy_client_next(lw, idx));
		conn_close(w, idx, false);
		return;
	}
	held = eph_lb_synproxy_take_held(lw, idx);
	if (held != NULL) {
		rte_pktmbuf_free(p->m);
	} else if ((held = eph_lb_synproxy_client_ack(lw, s, idx, p->m)) == NULL) {
		drop(w, p->m, EPH_DROP_mbuf_alloc_failed);
		return;
	}
	conns_owned(w, &(struct lb_pkt){.m = held, .cand = EPH_SESSION_NIL, .in_port = p->in_port},
		    1, EPH_DIR_IN2OUT);
}

/* m joins the owner's batch own (ahead: its lookahead, or NULL); a full batch goes through. */
static inline void
own_add(struct eph_worker *w, struct lb_pkt *own, unsigned int *n_own, struct rte_mbuf *m,
	const struct eph_session_ahead *ahead, uint16_t in_port, int dir)
{
	own[(*n_own)++] = (struct lb_pkt){
		.m = m, .hash = ahead != NULL ? ahead->hash : 0,
		.cand = ahead != NULL ? ahead->cand : EPH_SESSION_NIL, .in_port = in_port,
	};
	if (*n_own == LB_BATCH) {
		conns_owned(w, own, *n_own, dir);
		*n_own = 0;
	}
}

/* Hand m to worker owner (kind: EPH_HANDOFF_LB_*). */
static void
lb_handoff(struct eph_worker *w, unsigned int owner, struct rte_mbuf *m, uint8_t kind,
	   uint16_t in_port)
{
	if (eph_nat_handoff(w, owner, m, kind, in_port, 0, 0))
		w->lb->ctr[EPH_LB_handoff_out]++;
}

/*
 * An ICMP error about a connection's packet, from the client's side or the
 * backend's (from_client; pool: the local address's pool, backend side):
 * to the connection's owner (by the quoted client address and port, or
 * the quoted local port), then translated for the other side.
 */
static void
error_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, bool from_client,
	    uint16_t pool, bool owned)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(ip + 1);
	struct eph_icmp_quote q;

	if (ip->next_proto_id != IPPROTO_ICMP || !eph_l4_complete(ip) ||
	    !eph_icmp_is_error(icmp->icmp_type) ||
	    rte_raw_cksum(icmp, eph_l4_len(ip)) != 0xffff ||
	    !eph_icmp_error_quote(ip, rte_be_to_cpu_16(ip->total_length), &q) || q.l4_len < 4) {
		drop(w, m, EPH_DROP_lb_unsupported);
		return;
	}
	if (!owned && w->dp->n_workers > 1) {
		unsigned int owner;
		uint16_t port;

		if (from_client) {
			memcpy(&port, q.l4 + 2, sizeof(port)); /* the quote went to the client */
			owner = client_owner(w->dp, q.ip->dst_addr, port);
		} else {
			memcpy(&port, q.l4, sizeof(port)); /* the quote came from the local port */
			owner = eph_nat_port_owner_of(w, pool, rte_be_to_cpu_16(port));
		}
		if (owner != w->id) {
			lb_handoff(w, owner, m, from_client ? EPH_HANDOFF_LB_CLIENT : EPH_HANDOFF_LB_REPLY,
				   in_port);
			return;
		}
	}
	if (!icmp_error(w, in_port, m, from_client))
		drop(w, m, EPH_DROP_lb_icmp_untranslatable);
}

/* Echo requests to a VIP or local address answered (ping), ICMP errors to error_input. */
static void
icmp_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, bool from_client,
	   uint16_t pool, bool owned)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);

	if (ip->next_proto_id == IPPROTO_ICMP && eph_l4_complete(ip) &&
	    ((const struct rte_icmp_hdr *)(ip + 1))->icmp_type == RTE_IP_ICMP_ECHO_REQUEST)
		eph_icmp_echo_input(w, in_port, m);
	else
		error_input(w, in_port, m, from_client, pool, owned);
}

/*
 * Packets of one side (dir: from clients, EPH_DIR_IN2OUT, or from backends
 * to the local addresses of pools slot[i]) to their connection's owner: by
 * the client's address and port, or by the local port. owned: known to be
 * there already, after a handoff.
 */
static void
side_input(struct eph_worker *w, struct rte_mbuf **pkts, const uint16_t *in_port,
	   const uint16_t *slot, const struct eph_session_ahead *ahead, uint16_t n, bool owned,
	   int dir)
{
	bool from_client = dir == EPH_DIR_IN2OUT;
	struct eph_dp *dp = w->dp;
	struct lb_pkt own[LB_BATCH];
	unsigned int n_own = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ipv4_hdr *ip = eph_pkt_ip(m);

		if (unlikely(ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP)) {
			icmp_input(w, in_port[i], m, from_client, from_client ? 0 : slot[i], owned);
			continue;
		}
		if (unlikely(!eph_l4_complete(ip))) {
			drop(w, m, EPH_DROP_l4_truncated);
			continue;
		}
		if (!owned && dp->n_workers > 1) {
			const uint8_t *l4 = (const uint8_t *)(ip + 1);
			unsigned int owner;
			uint16_t port;

			if (from_client) {
				memcpy(&port, l4, sizeof(port));
				owner = client_owner(dp, ip->src_addr, port);
			} else {
				memcpy(&port, l4 + 2, sizeof(port));
				owner = eph_nat_port_owner_of(w, slot[i], rte_be_to_cpu_16(port));
			}
			if (owner != w->id) {
				lb_handoff(w, owner, m,
					   from_client ? EPH_HANDOFF_LB_CLIENT : EPH_HANDOFF_LB_REPLY,
					   in_port[i]);
				continue;
			}
		}
		own_add(w, own, &n_own, m, ahead != NULL ? &ahead[i] : NULL, in_port[i], dir);
	}
	if (n_own != 0)
		conns_owned(w, own, n_own, dir);
}

static const struct eph_session_table *
lb_flows(const struct eph_worker *w)
{
	return w->lb != NULL ? w->lb->conns : w->nat.sessions;
}

/* The VIP kind's packets are looked up in the connection table (input's lookahead). */
static const struct eph_session_table *
vip_flows(const struct eph_worker *w, const struct eph_nexthop *nh)
{
	(void)nh;
	return w->lb != NULL ? w->lb->conns : w->nat.sessions;
}

/* Whether a burst holds an IPv4 fragment (one flag test a packet). */
static inline bool
any_fragment(struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		if (unlikely(eph_ip_is_fragment(eph_pkt_ip(pkts[i]))))
			return true;
	return false;
}

/*
 * The balancer translates no fragment (its connections would need the
 * NAT's virtual reassembly): dropped and counted, the rest compacted in
 * place with their slots and lookaheads. Returns how many are left.
 */
static __rte_noinline uint16_t
no_fragments(struct eph_worker *w, struct rte_mbuf **pkts, uint16_t *slot,
	     struct eph_session_ahead *ahead, uint16_t n)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (unlikely(eph_ip_is_fragment(eph_pkt_ip(pkts[i])))) {
			drop(w, pkts[i], EPH_DROP_lb_fragment);
			continue;
		}
		pkts[k] = pkts[i];
		if (slot != NULL)
			slot[k] = slot[i];
		ahead[k++] = ahead[i];
	}
	return k;
}

/* EPH_NH_VIP: packets to a VIP address. */
static void
vip_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, const uint32_t *nh_idx,
	  const struct eph_session_ahead *ahead, uint16_t n)
{
	uint16_t ports[EPH_MAX_BURST];
	struct eph_session_ahead ah[EPH_MAX_BURST];

	(void)nh_idx;
	if (unlikely(w->lb == NULL)) {
		for (uint16_t i = 0; i < n; i++)
			drop(w, pkts[i], EPH_DROP_lb_no_vip);
		return;
	}
	if (unlikely(any_fragment(pkts, n))) {
		memcpy(ah, ahead, n * sizeof(*ahead));
		n = no_fragments(w, pkts, NULL, ah, n);
		ahead = ah;
	}
	for (uint16_t i = 0; i < n; i++)
		ports[i] = in_port;
	side_input(w, pkts, ports, NULL, ahead, n, false, EPH_DIR_IN2OUT);
}

/* ---- backend side ------------------------------------------------------ */

/* Balancer pools' next hops (from the NAT's pool handler). */
static void
reply_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, const uint16_t *slot,
	    const struct eph_session_ahead *ahead, uint16_t n)
{
	uint16_t ports[EPH_MAX_BURST];
	uint16_t slots[EPH_MAX_BURST];
	struct eph_session_ahead ah[EPH_MAX_BURST];

	if (unlikely(w->lb == NULL)) {
		for (uint16_t i = 0; i < n; i++)
			drop(w, pkts[i], EPH_DROP_lb_no_connection);
		return;
	}
	if (unlikely(any_fragment(pkts, n))) {
		memcpy(slots, slot, n * sizeof(*slot));
		memcpy(ah, ahead, n * sizeof(*ahead));
		n = no_fragments(w, pkts, slots, ah, n);
		slot = slots;
		ahead = ah;
	}
	for (uint16_t i = 0; i < n; i++)
		ports[i] = in_port;
	side_input(w, pkts, ports, slot, ahead, n, false, EPH_DIR_OUT2IN);
}

/*
 * Destination NAT's replies are routed packets (backend -> client) that
 * cross from an inside port to an outside one: the forward hook takes
 * those that belong to a connection and leaves the rest.
 */
static uint16_t
dnat_forward(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint32_t *nh_idx,
	     struct eph_session_ahead *ahead, uint16_t n)
{
	const struct eph_lb_cfg *c = w->cfg->lb;
	struct rte_mbuf *mine[EPH_MAX_BURST];
	struct lb_pkt own[LB_BATCH];
	uint16_t n_mine = 0, n_left = 0;
	unsigned int n_own = 0;

	(void)ahead;
	if (c == NULL || !c->dnat || w->lb == NULL ||
	    w->dp->ports[in_port].role != EPH_ROLE_INSIDE)
		return n;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
		struct eph_flow_key k;
		uint32_t ports4;

		/* Fragments are not translated by the balancer: left to routing (or the NAT). */
		if ((ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP) ||
		    !eph_l4_complete(ip) || eph_ip_is_fragment(ip)) {
			pkts[n_left] = m;
			nh_idx[n_left++] = nh_idx[i];
			continue;
		}
		memcpy(&ports4, ip + 1, sizeof(ports4));
		eph_flow_key_set(&k, eph_flow_addrs(ip->src_addr, ip->dst_addr),
				 eph_flow_tail(ports4, ip->next_proto_id));
		if (eph_session_lookup(w->lb->conns, &k) < 0) {
			pkts[n_left] = m;
			nh_idx[n_left++] = nh_idx[i];
			continue;
		}
		mine[n_mine++] = m;
	}
	/* The owner: by the client's address and port, which the reply is sent to. */
	for (uint16_t i = 0; i < n_mine; i++) {
		struct rte_ipv4_hdr *ip = eph_pkt_ip(mine[i]);
		uint16_t cport;
		unsigned int owner;

		memcpy(&cport, (const uint8_t *)(ip + 1) + 2, sizeof(cport));
		owner = w->dp->n_workers > 1 ? client_owner(w->dp, ip->dst_addr, cport) : w->id;
		if (owner != w->id) {
			lb_handoff(w, owner, mine[i], EPH_HANDOFF_LB_REPLY, in_port);
			continue;
		}
		own_add(w, own, &n_own, mine[i], NULL, in_port, EPH_DIR_OUT2IN);
	}
	if (n_own != 0)
		conns_owned(w, own, n_own, EPH_DIR_OUT2IN);
	return n_left;
}

/* Packets other workers handed over, each to its side's owned path. */
static void
handoff_input(struct eph_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct eph_dp *dp = w->dp;
	struct rte_mbuf *client[EPH_MAX_BURST], *reply[EPH_MAX_BURST];
	uint16_t client_port[EPH_MAX_BURST], reply_port[EPH_MAX_BURST], reply_slot[EPH_MAX_BURST];
	uint16_t n_client = 0, n_reply = 0;

	if (unlikely(w->lb == NULL)) {
		for (uint16_t i = 0; i < n; i++)
			drop(w, pkts[i], EPH_DROP_lb_no_connection);
		return;
	}
	w->lb->ctr[EPH_LB_handoff_in] += n;
	for (uint16_t i = 0; i < n; i++) {
		const struct eph_pkt_meta *meta = eph_pkt_meta(dp, pkts[i]);

		if (meta->kind == EPH_HANDOFF_LB_CLIENT) {
			client[n_client] = pkts[i];
			client_port[n_client++] = meta->in_port;
		} else {
			reply[n_reply] = pkts[i];
			reply_slot[n_reply] = meta->out_port;
			reply_port[n_reply++] = meta->in_port;
		}
	}
	if (n_client != 0)
		side_input(w, client, client_port, NULL, NULL, n_client, true, EPH_DIR_IN2OUT);
	if (n_reply != 0)
		side_input(w, reply, reply_port, reply_slot, NULL, n_reply, true, EPH_DIR_OUT2IN);
}

/* ---- per loop ---------------------------------------------------------- */

/*
 * After a change that removed backends with on-remove: reset, walk the
 * table a bounded number of records per loop and reset their connections
 * (idle ones too: they would otherwise wait for a packet or their timer).
 */
static void
sweep(struct eph_worker *w, const struct eph_lb_cfg *c)
{
	struct eph_lb_worker *lw = w->lb;
	struct eph_session_table *t = lw->conns;
	uint32_t end = RTE_MIN(lw->sweep + SWEEP_BUDGET, t->max);

	for (; lw->sweep < end; lw->sweep++) {
		if (!eph_session_in_use(t, lw->sweep))
			continue;
		if (backend_reset(c, eph_session_get(t, lw->sweep)))
			conn_reset(w, 0, lw->sweep);
	}
	if (lw->sweep == t->max)
		lw->sweep_gen = w->cfg->generation;
}

bool
eph_lb_poll(struct eph_worker *w)
{
	struct eph_lb_worker *lw = w->lb;
	const struct eph_lb_cfg *c = w->cfg->lb;

	if (lw == NULL)
		return false;
	/* The NAT's poll keeps the flow clock (w->nat.now). */
	if (eph_session_expire_pending(lw->conns, w->nat.now))
		eph_session_expire(lw->conns, w->nat.now, EXPIRE_BUDGET, conn_expired, w);
	if (unlikely(lw->sweep_gen != w->cfg->generation)) {
		if (c == NULL || c->resets == 0) {
			lw->sweep_gen = w->cfg->generation;
			lw->sweep = 0;
		} else {
			sweep(w, c);
		}
		if (lw->sweep_gen == w->cfg->generation)
			lw->sweep = 0;
	}
	return eph_session_expire_pending(lw->conns, w->nat.now) ||
	       lw->sweep_gen != w->cfg->generation;
}

static void
lb_poll(struct eph_worker *w, uint64_t now_tsc)
{
	if (w->lb != NULL)
		w->lb->now_tsc = now_tsc; /* the rate limit's clock */
	(void)eph_lb_poll(w);
}

static bool
port_held(struct eph_worker *w, uint32_t addr, uint16_t port, uint32_t remote_addr,
	  uint16_t remote_port, uint8_t proto)
{
	struct eph_flow_key k = {
		.src_addr = remote_addr, .dst_addr = addr,
		.src_port = remote_port, .dst_port = port, .proto = proto,
	};

	return w->lb != NULL && eph_session_lookup(w->lb->conns, &k) >= 0;
}

void
eph_lb_register(void)
{
	static const struct eph_nh_ops vip_ops = {
		.name = "vip",
		.input = vip_input,
		.flows = vip_flows,
	};
	static const struct eph_nat_balancer_ops balancer_ops = {
		.reply_input = reply_input,
		.handoff_input = handoff_input,
		.port_held = port_held,
		.flows = lb_flows,
	};

	(void)eph_nh_register(EPH_NH_VIP, &vip_ops);
	eph_nat_balancer_register(&balancer_ops);
	(void)eph_output_hook_register(dnat_forward);
	(void)eph_worker_poll_register(lb_poll);
}
