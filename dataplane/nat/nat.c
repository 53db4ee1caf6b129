/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNAT44 packet path (see nat.h): session lookup and precomputed rewrite on
 * the established path; session creation, port allocation, ICMP errors,
 * handoff and expiry on the cold paths. The core reaches it through what
 * eph_nat_register registers: the handler of pool next hops (outside ->
 * inside), the forward hook (inside -> outside) and the per-loop poll; it
 * sends through dataplane/output.h.
 */
#include <assert.h>
#include <limits.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/dp.h"
#include "dataplane/nat/nat.h"
#include "dataplane/nat/nat_frag.h"
#include "dataplane/nat/nat_ftp.h"
#include "dataplane/nat/nat_icmp.h"
#include "dataplane/nat/natlog.h"
#include "dataplane/nat/nat_rewrite.h"
#include "dataplane/ports/portalloc.h"
#include "dataplane/ports/portblock.h"
#include "dataplane/flow/flow.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"

#define ETH_HDR_LEN     ((uint16_t)sizeof(struct rte_ether_hdr))
#define IPV4_HDR_LEN    ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define HANDOFF_BURST   32
#define EXPIRE_BUDGET   64
#define ICMP_HOST_UNREACH 1
#define CTL_BUDGET      4096 /* session records a control request may visit per loop */
#define ALERTS_PER_SECOND 64 /* occupancy warnings per worker per second; the rest are counted */
#define SESS_GEN_MASK   (EPH_PA_GENS - 1) /* s->flags: allocator generation of the port */
#define SESS_INBOUND    0x04 /* s->flags: opened from outside through its EIM mapping */
#define SESS_BORROWED   0x08 /* flags of a session or mapping: its port is on loan from its share owner */
#define SESS_LOAN       0x10 /* flags: a loan record on the lender (host: the borrower), no session */
#define SESS_FTP        0x20 /* flags: an FTP control connection with an entry in nw->ftp */
#define NAT_BATCH       32 /* packets per session-lookup pipeline (<= EPH_SESSION_BULK_MAX) */
#define FRAG_EXPIRE_BUDGET 64 /* datagrams of fragments forgotten per loop at most */

static_assert(NAT_BATCH <= EPH_SESSION_BULK_MAX, "a batch is one bulk lookup");
static_assert(HANDOFF_BURST <= NAT_BATCH, "a handoff burst fits a batch");

/*
 * The balancer's handlers (nothing before it registers: no balancer pool
 * exists then, and no handoff of its kinds).
 */
static struct eph_nat_balancer_ops balancer;

/* One packet on its way through the NAT, with what routing or handoff decided for it. */
struct nat_pkt {
	struct rte_mbuf *m;
	uint64_t hash;    /* of its session key, or 0: not computed yet */
	uint32_t cand;    /* candidate session reference, or EPH_SESSION_NIL */
	uint32_t nh;      /* in -> out: FIB next hop; out -> in: allocator generations tried */
	uint16_t in_port;
	uint16_t pool;
};

static_assert(EPH_TCP_N_STATES <= RTE_DIM(((struct eph_nat_worker *)0)->sessions_tcp),
	      "a gauge per TCP state");

const char *const eph_nat_counter_names[EPH_NAT_CTR_MAX] = {
#define EPH_NAT_CTR_NAME(name, desc) [EPH_NAT_##name] = #name,
	EPH_NAT_COUNTERS(EPH_NAT_CTR_NAME)
#undef EPH_NAT_CTR_NAME
};

const char *const eph_nat_counter_descs[EPH_NAT_CTR_MAX] = {
#define EPH_NAT_CTR_DESC(name, desc) [EPH_NAT_##name] = desc,
	EPH_NAT_COUNTERS(EPH_NAT_CTR_DESC)
#undef EPH_NAT_CTR_DESC
};

static inline void
drop(struct eph_worker *w, struct rte_mbuf *m, enum eph_drop_reason why)
{
	if (unlikely(m == NULL))
		return; /* a session refused that no packet asked for (an FTP data connection) */
	eph_count_drop(&w->stats, why);
	rte_pktmbuf_free(m);
}

/* The whole ICMP message verifies (cold: errors only; echo checksums are patched, not recomputed). */
static bool
icmp_cksum_ok(const struct rte_ipv4_hdr *ip)
{
	return rte_raw_cksum(ip + 1, eph_l4_len(ip)) == 0xffff;
}

static inline const struct eph_nat_pool *
pool_cfg(const struct eph_worker *w, unsigned int pool)
{
	return &w->cfg->nat.pools[pool];
}

/*
 * A packet passes through the session: TCP state and sequence tracking,
 * counters, idle timer. Returns false for a RST outside the window, which
 * changes nothing and is to be dropped (see tcp_state.h).
 */
static inline bool
session_touch(struct eph_nat_worker *nw, const struct eph_flow_timeouts *to, uint32_t idx,
	      struct eph_session *s, const struct rte_ipv4_hdr *ip, int dir)
{
	uint32_t expire;
	uint8_t prev;

	if (s->proto == IPPROTO_TCP) {
		if (!eph_flow_tcp_update(s, ip, dir, &prev))
			return false;
		if (unlikely(prev != s->state)) {
			nw->sessions_tcp[prev]--;
			nw->sessions_tcp[s->state]++;
		}
	}
	if (dir == EPH_DIR_IN2OUT)
		s->pkts_out++;
	else
		s->pkts_in++;
	/* RFC 4787 REQ-6: outbound refreshes; inbound may, and TCP needs it to track state. */
	expire = nw->now + eph_flow_timeout(to, s);
	/* Later: stored, the wheel re-files lazily; earlier (RST, last ACK): re-filed now. */
	eph_session_refresh(nw->sessions, idx, expire);
	return true;
}

/* Hand m, its meta filled, to worker `to`: false (m dropped and counted) when the ring is full. */
static bool
handoff_as_is(struct eph_worker *w, unsigned int to, struct rte_mbuf *m)
{
	struct eph_dp *dp = w->dp;

	if (rte_ring_sp_enqueue(dp->nat.handoff[w->id * dp->n_workers + to], m) != 0) {
		drop(w, m, EPH_DROP_nat_handoff_full);
		return false;
	}
	w->nat.ctr[EPH_NAT_handoff_out]++;
	return true;
}

static bool handoff(struct eph_worker *w, unsigned int owner, struct rte_mbuf *m, uint8_t kind,
		    uint16_t in_port, uint16_t pool, uint32_t nh_idx);

/* Hand m to worker `owner`: false (m dropped and counted) when the ring is full. */
bool
eph_nat_handoff(struct eph_worker *w, unsigned int owner, struct rte_mbuf *m, uint8_t kind,
		uint16_t in_port, uint16_t aux, uint32_t nexthop)
{
	return handoff(w, owner, m, kind, in_port, aux, nexthop);
}

static void frag_steered(struct eph_worker *w, const struct rte_ipv4_hdr *hdr, int dir,
			 unsigned int owner);

static bool
handoff(struct eph_worker *w, unsigned int owner, struct rte_mbuf *m, uint8_t kind,
	uint16_t in_port, uint16_t pool, uint32_t nh_idx)
{
	struct eph_dp *dp = w->dp;
	struct eph_pkt_meta *meta = eph_pkt_meta(dp, m);
	struct rte_ring *r = dp->nat.handoff[w->id * dp->n_workers + owner];
	const struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_ipv4_hdr first;
	bool frag = false;

	/*
	 * A first fragment going to the worker that translates it: its
	 * datagram's later fragments follow it there (nat_frag.h). Its
	 * header is read now: once in the ring the packet is the owner's.
	 */
	if (unlikely(eph_ip_is_fragment(ip)) &&
	    (kind == EPH_HANDOFF_IN2OUT || kind == EPH_HANDOFF_OUT2IN) &&
	    eph_frag_offset(ip) == 0) {
		first = *ip;
		frag = true;
	}
	meta->kind = kind;
	meta->in_port = in_port;
	meta->out_port = pool;
	meta->nexthop = nh_idx;
	meta->cfg_gen = (uint32_t)w->cfg->generation;
	if (rte_ring_sp_enqueue(r, m) != 0) {
		drop(w, m, EPH_DROP_nat_handoff_full);
		return false;
	}
	w->nat.ctr[EPH_NAT_handoff_out]++;
	if (unlikely(frag))
		frag_steered(w, &first,
			     kind == EPH_HANDOFF_IN2OUT ? EPH_DIR_IN2OUT : EPH_DIR_OUT2IN, owner);
	return true;
}

/* ---- fragments (nat_frag.h) ------------------------------------------- */

/* A later fragment of a datagram whose first was translated here: address and header checksum. */
static void
frag_translate(struct eph_worker *w, const struct eph_frag_dgram *d, struct rte_mbuf *m,
	       uint16_t in_port)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);

	if (d->key.dir == EPH_DIR_IN2OUT) {
		ip->src_addr = d->new_addr;
		w->nat.ctr[EPH_NAT_in2out]++;
	} else {
		ip->dst_addr = d->new_addr;
		w->nat.ctr[EPH_NAT_out2in]++;
	}
	ip->hdr_checksum = eph_cksum_apply(ip->hdr_checksum, d->l3_delta);
	w->nat.ctr[EPH_NAT_frag_translated]++;
	/* Its next hop is looked up: the destination may be new, and no ICMP error quotes it. */
	eph_output_send(w, in_port, m, UINT32_MAX);
}

/* A later fragment to the worker its first went to. */
static void
frag_hand(struct eph_worker *w, unsigned int owner, struct rte_mbuf *m, uint8_t dir,
	  uint16_t in_port, uint16_t pool)
{
	struct eph_pkt_meta *meta = eph_pkt_meta(w->dp, m);

	meta->kind = EPH_HANDOFF_FRAG;
	meta->in_port = in_port;
	meta->out_port = pool;
	meta->nexthop = dir;
	meta->cfg_gen = (uint32_t)w->cfg->generation;
	if (handoff_as_is(w, owner, m))
		w->nat.ctr[EPH_NAT_frag_steered]++;
}

/* The fragments datagram idx held, sent the way its state now says. */
static void
frag_release(struct eph_worker *w, uint32_t idx)
{
	struct eph_frag_table *t = w->nat.frag;
	struct rte_mbuf *m;
	uint16_t in_port, pool;
	uint32_t nh;

	while ((m = eph_frag_unhold(t, idx, &in_port, &pool, &nh)) != NULL) {
		const struct eph_frag_dgram *d = &t->d[idx];

		if (d->state == EPH_FRAG_TRANSLATE)
			frag_translate(w, d, m, in_port);
		else if (d->state == EPH_FRAG_STEER)
			frag_hand(w, d->owner, m, d->key.dir, in_port, pool);
		else
			drop(w, m, (enum eph_drop_reason)d->dead);
	}
	eph_frag_done(t, idx);
}

/* The first fragment hdr (a copy of its header) went to worker owner. */
static __rte_noinline void
frag_steered(struct eph_worker *w, const struct rte_ipv4_hdr *hdr, int dir, unsigned int owner)
{
	struct eph_frag_table *t = w->nat.frag;
	struct eph_frag_key key = eph_frag_key_of(hdr, dir);
	uint32_t idx;

	if (t == NULL)
		return;
	idx = eph_frag_find(t, &key, true, rte_rdtsc());
	if (idx == EPH_FRAG_NIL)
		return; /* its later fragments find no room either: dropped as frag_table_full */
	if (!eph_frag_first_seen(t, idx))
		(void)eph_frag_cover(t, idx, hdr); /* it came from another worker, which checked it */
	t->d[idx].state = EPH_FRAG_STEER;
	t->d[idx].owner = (uint16_t)owner;
	frag_release(w, idx);
}

/*
 * The first fragment ip was translated here by session s: its datagram's
 * later fragments get the same addresses (ip is already rewritten; the
 * key is the datagram's as received).
 */
static __rte_noinline void
frag_learn(struct eph_worker *w, const struct rte_ipv4_hdr *ip, int dir,
	   const struct eph_session *s)
{
	struct eph_frag_table *t = w->nat.frag;
	struct eph_frag_key key = eph_frag_key_of(ip, dir);
	struct eph_frag_dgram *d;
	uint32_t idx;

	if (t == NULL || eph_frag_offset(ip) != 0)
		return;
	if (dir == EPH_DIR_IN2OUT)
		key.src = s->in_addr;
	else
		key.dst = s->out_addr;
	idx = eph_frag_find(t, &key, true, rte_rdtsc());
	if (idx == EPH_FRAG_NIL)
		return;
	if (!eph_frag_first_seen(t, idx))
		(void)eph_frag_cover(t, idx, ip);
	d = &t->d[idx];
	d->state = EPH_FRAG_TRANSLATE;
	if (dir == EPH_DIR_IN2OUT) {
		d->new_addr = s->out_addr;
		d->l3_delta = s->l3_delta;
	} else {
		d->new_addr = s->in_addr;
		d->l3_delta = (uint16_t)~s->l3_delta;
	}
	frag_release(w, idx);
}

/* Bytes of the L4 header a first fragment must hold whole (RFC 1858, RFC 3128). */
static inline uint32_t
frag_l4_min(uint8_t proto)
{
	return proto == IPPROTO_TCP ? sizeof(struct rte_tcp_hdr)
	       : proto == IPPROTO_UDP ? sizeof(struct rte_udp_hdr)
				      : sizeof(struct rte_icmp_hdr);
}

/*
 * A fragment on its way in (dir), before its owner is known: checked, its
 * bytes accounted in its datagram, then sent the way the datagram's state
 * says: translated, handed to the worker of its first, or held. Returns
 * false for a first fragment, which goes the way of an unfragmented packet
 * (the datagram learns where: frag_learn, frag_steered); true when m was
 * consumed.
 */
static __rte_noinline bool
frag_input(struct eph_worker *w, struct rte_mbuf *m, int dir, uint16_t in_port, uint16_t pool,
	   uint32_t nh)
{
	struct eph_frag_table *t = w->nat.frag;
	const struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	uint32_t off = eph_frag_offset(ip), len = eph_l4_len(ip);
	bool more = (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG)) != 0;
	enum eph_drop_reason why = EPH_DROP_MAX, r;
	struct eph_frag_key key;
	struct eph_frag_dgram *d;
	uint32_t idx;

	if (ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP &&
	    ip->next_proto_id != IPPROTO_ICMP) {
		drop(w, m, EPH_DROP_nat_unsupported);
		return true;
	}
	if (t == NULL) {
		drop(w, m, EPH_DROP_ip_fragment);
		return true;
	}
	/* With its header, the datagram would pass the 65535 bytes of total_length. */
	if (off + len > UINT16_MAX - sizeof(struct rte_ipv4_hdr)) {
		drop(w, m, EPH_DROP_frag_too_long);
		return true;
	}
	if (more && (len == 0 || len % 8 != 0)) {
		drop(w, m, EPH_DROP_frag_malformed);
		return true;
	}
	/* RFC 1858: a TCP fragment at offset 8 could rewrite the flags the first one showed. */
	if (ip->next_proto_id == IPPROTO_TCP && off == 8) {
		drop(w, m, EPH_DROP_frag_tiny);
		return true;
	}
	if (off == 0) {
		const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(ip + 1);

		if (len < frag_l4_min(ip->next_proto_id))
			why = EPH_DROP_frag_tiny;
		else if (ip->next_proto_id == IPPROTO_ICMP &&
			 icmp->icmp_type != (dir == EPH_DIR_IN2OUT ? RTE_IP_ICMP_ECHO_REQUEST
								   : RTE_IP_ICMP_ECHO_REPLY))
			why = EPH_DROP_nat_unsupported; /* ICMP errors are not translated in fragments */
	}
	key = eph_frag_key_of(ip, dir);
	idx = eph_frag_find(t, &key, true, rte_rdtsc());
	if (idx == EPH_FRAG_NIL) {
		drop(w, m, why != EPH_DROP_MAX ? why : EPH_DROP_frag_table_full);
		return true;
	}
	d = &t->d[idx];
	if (why != EPH_DROP_MAX) {
		/* A first that cannot be translated: its datagram's other fragments go with it. */
		d->state = EPH_FRAG_DEAD;
		d->dead = (uint8_t)why;
		drop(w, m, why);
		frag_release(w, idx);
		return true;
	}
	r = eph_frag_cover(t, idx, ip);
	if (r != EPH_DROP_MAX) {
		drop(w, m, r);
		return true;
	}
	if (off == 0)
		return false;
	switch (d->state) {
	case EPH_FRAG_TRANSLATE:
		frag_translate(w, d, m, in_port);
		eph_frag_done(t, idx);
		return true;
	case EPH_FRAG_STEER:
		frag_hand(w, d->owner, m, d->key.dir, in_port, pool);
		eph_frag_done(t, idx);
		return true;
	case EPH_FRAG_DEAD:
		drop(w, m, (enum eph_drop_reason)d->dead);
		return true;
	default:
		break;
	}
	if (!eph_frag_hold(t, idx, m, in_port, pool, nh)) {
		drop(w, m, EPH_DROP_frag_held_full);
		return true;
	}
	w->nat.ctr[EPH_NAT_frag_held]++;
	return true;
}

/* Whether a datagram's time is up. */
static inline bool
frag_due(const struct eph_frag_table *t, uint64_t now_tsc)
{
	return t != NULL && t->oldest != EPH_FRAG_NIL &&
	       (int64_t)(now_tsc - t->d[t->oldest].expire_tsc) >= 0;
}

/* Forget datagrams whose time is up (a bounded number); their held fragments are dropped. */
static inline void
frag_timers(struct eph_worker *w, uint64_t now_tsc)
{
	if (likely(!frag_due(w->nat.frag, now_tsc)))
		return;
	w->stats.drop[EPH_DROP_frag_timeout] +=
		eph_frag_expire(w->nat.frag, now_tsc, FRAG_EXPIRE_BUDGET);
}

/* ---- per-host state -------------------------------------------------- */

static struct eph_nat_host *
host_get(struct eph_nat_worker *nw, uint32_t addr, bool create)
{
	int32_t pos = rte_hash_lookup(nw->hosts, &addr);

	if (pos >= 0)
		return &nw->host[pos];
	if (!create)
		return NULL;
	pos = rte_hash_add_key(nw->hosts, &addr);
	if (pos < 0)
		return NULL;
	nw->host[pos] = (struct eph_nat_host){ .addr = addr, .paired = 0 };
	return &nw->host[pos];
}

static void
host_put(struct eph_nat_worker *nw, struct eph_nat_host *h)
{
	if (h->sessions > 0)
		h->sessions--;
	if (h->sessions == 0)
		rte_hash_del_key(nw->hosts, &h->addr);
}

/*
 * Counter slot of a pool address (network order): every address a session
 * holds stays in the snapshot, draining if need be, until its last port is
 * back, so the search finds it. EPH_NAT_ADDR_SLOTS - 1 is never assigned.
 */
static uint32_t
pool_addr_slot(const struct eph_nat_pool *p, uint32_t addr)
{
	uint32_t lo = 0, hi = p->n_all, a = rte_be_to_cpu_32(addr);

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		uint32_t v = rte_be_to_cpu_32(p->all[mid].addr);

		if (v == a)
			return p->all[mid].slot;
		if (v < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return EPH_NAT_ADDR_SLOTS - 1;
}

/* Live sessions by protocol and state, for metrics. */
static inline void
session_gauge(struct eph_nat_worker *nw, const struct eph_session *s, int delta)
{
	if (s->proto == IPPROTO_TCP)
		nw->sessions_tcp[s->state] += (uint64_t)(int64_t)delta;
	else if (s->proto == IPPROTO_UDP)
		nw->sessions_udp += (uint64_t)(int64_t)delta;
	else
		nw->sessions_icmp += (uint64_t)(int64_t)delta;
}

/* ---- events to the control lcore ------------------------------------- */

static void
log_session(struct eph_worker *w, const struct eph_session *s, uint8_t type, uint8_t reason)
{
	struct eph_natlog_event ev = {
		.tsc = rte_rdtsc(),
		.type = type,
		.proto = s->proto,
		.pool = s->pool,
		.worker = (uint8_t)w->id,
		.in_addr = s->in_addr,
		.out_addr = s->out_addr,
		.remote_addr = s->remote_addr,
		.in_port = s->in_port,
		.out_port = s->out_port,
		.remote_port = s->remote_port,
		.duration_s = type == EPH_NATLOG_SESSION_DELETE
				      ? (w->nat.now - s->created) / EPH_NAT_TICK_HZ
				      : 0,
		.reason = reason,
	};

	eph_natlog_emit(w->nat.log, &ev);
}

/* RFC 7422: a block of ports given to or taken back from an inside host. */
static void
log_block(struct eph_worker *w, unsigned int pool, uint8_t proto,
	  const struct eph_portblock_event *b)
{
	struct eph_natlog_event ev = {
		.tsc = rte_rdtsc(),
		.type = b->type == EPH_PORTBLOCK_ALLOC ? EPH_NATLOG_BLOCK_ALLOC
						       : EPH_NATLOG_BLOCK_RELEASE,
		.proto = proto,
		.pool = (uint8_t)pool,
		.worker = (uint8_t)w->id,
		.in_addr = b->host_addr,
		.out_addr = b->out_addr,
		.first_port = b->first_port,
		.last_port = b->last_port,
	};

	eph_natlog_emit(w->nat.log, &ev);
}

/*
 * A destination's share on this worker just went from live - 1 to live
 * ports: warn when that crosses warn-occupancy or fills it. At most
 * ALERTS_PER_SECOND per worker, so a destination that hovers at the
 * threshold cannot flood the log; the rest are counted.
 */
static __rte_noinline void
occupancy_alert(struct eph_worker *w, unsigned int pool, const struct eph_dest_key *d,
		uint32_t addr_slot, uint32_t live, uint32_t share, bool full)
{
	struct eph_nat_worker *nw = &w->nat;
	uint32_t second = nw->now / EPH_NAT_TICK_HZ;
	struct eph_natlog_event ev = {
		.tsc = rte_rdtsc(),
		.type = full ? EPH_NATLOG_DEST_EXHAUSTED : EPH_NATLOG_DEST_OCCUPANCY,
		.proto = d->proto,
		.pool = (uint8_t)pool,
		.worker = (uint8_t)w->id,
		.out_addr = d->out_addr,
		.remote_addr = d->remote_addr,
		.remote_port = d->remote_port,
		.value = live,
		.share = share,
	};

	if (!full)
		nw->occupancy_warnings[pool][addr_slot]++;
	if (second != nw->alert_second) {
		nw->alert_second = second;
		nw->alert_tokens = ALERTS_PER_SECOND;
	}
	if (nw->alert_tokens == 0) {
		nw->alerts_suppressed++;
		return;
	}
	nw->alert_tokens--;
	eph_natlog_emit(nw->alerts, &ev);
}

/* ---- refusals (who is refused most) ---------------------------------- */

/* Space-Saving: the matching slot, else the smallest one, taken over. */
static struct eph_nat_refused_dest *
refused_dest_slot(struct eph_nat_refusals *r, const struct eph_dest_key *d)
{
	struct eph_nat_refused_dest *min = &r->dest[0];

	for (unsigned int i = 0; i < EPH_NAT_REFUSAL_SLOTS; i++) {
		struct eph_nat_refused_dest *e = &r->dest[i];

		if (e->count != 0 && e->out_addr == d->out_addr &&
		    e->remote_addr == d->remote_addr && e->remote_port == d->remote_port &&
		    e->proto == d->proto)
			return e;
		if (e->count < min->count)
			min = e;
	}
	min->out_addr = d->out_addr;
	min->remote_addr = d->remote_addr;
	min->remote_port = d->remote_port;
	min->proto = d->proto;
	return min;
}

static struct eph_nat_refused_host *
refused_host_slot(struct eph_nat_refusals *r, uint32_t addr)
{
	struct eph_nat_refused_host *min = &r->host[0];

	for (unsigned int i = 0; i < EPH_NAT_REFUSAL_SLOTS; i++) {
		struct eph_nat_refused_host *e = &r->host[i];

		if (e->total != 0 && e->addr == addr)
			return e;
		if (e->total < min->total)
			min = e;
	}
	if (min->total == 0 || min->addr != addr) {
		/* Inherited counts are the over-estimate bound; keep them as "unknown reason". */
		memset(min->count, 0, sizeof(min->count));
		min->addr = addr;
	}
	return min;
}

/* A session refused for host f->in_addr (and, when no port was free, destination d). */
static __rte_noinline void
record_refusal(struct eph_nat_worker *nw, unsigned int pool, uint32_t in_addr,
	       const struct eph_dest_key *d, enum eph_nat_refusal_reason why)
{
	struct eph_nat_refusals *r = &nw->refusals;
	struct eph_nat_refused_host *h;

	rte_seqcount_write_begin(&r->seq);
	if (d != NULL) {
		struct eph_nat_refused_dest *e = refused_dest_slot(r, d);

		e->pool = (uint8_t)pool;
		e->count++;
	}
	h = refused_host_slot(r, in_addr);
	h->pool = (uint8_t)pool;
	h->count[why]++;
	h->total++;
	rte_seqcount_write_end(&r->seq);
}

void
eph_nat_refusals_read(const struct eph_nat_worker *nw, struct eph_nat_refusals *out)
{
	uint32_t sn;

	do {
		sn = rte_seqcount_read_begin(&nw->refusals.seq);
		memcpy(out->dest, nw->refusals.dest, sizeof(out->dest));
		memcpy(out->host, nw->refusals.host, sizeof(out->host));
	} while (rte_seqcount_read_retry(&nw->refusals.seq, sn));
}

/* ---- session creation (cold) ----------------------------------------- */

struct flow {
	uint32_t in_addr, remote_addr; /* network order */
	uint16_t in_port, remote_port; /* network order; ICMP: identifier, 0 */
	uint8_t proto;
};

static void
dest_key(struct eph_dest_key *d, const struct eph_nat_pool *p, uint32_t out_addr,
	 const struct flow *f)
{
	bool eim = p->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT;

	*d = (struct eph_dest_key){
		.out_addr = out_addr,
		.remote_addr = eim ? 0 : f->remote_addr,
		.remote_port = eim ? 0 : f->remote_port,
		.proto = f->proto,
	};
}

/* Endpoint-independent mapping of in_addr:in_port, or -1. */
static int32_t
mapping_find(struct eph_nat_worker *nw, const struct flow *f)
{
	struct eph_flow_key k = {
		.src_addr = f->in_addr, .src_port = f->in_port, .proto = f->proto,
	};

	return eph_session_lookup(nw->mappings, &k);
}

/* RFC 4787 REQ-2: the same inside host always starts at the same address. */
static inline uint32_t
paired_index(const struct eph_worker *w, const struct eph_nat_pool *p, const struct flow *f)
{
	return p->n_addrs == 0 ? 0
			       : rte_jhash_1word(f->in_addr, w->dp->nat.secret ^ 0x5bd1e995) %
					 p->n_addrs;
}

/*
 * While an older allocator generation drains, its ports may overlap the
 * new one's: a port the new generation hands out must not be one an old
 * session still holds towards the same destination.
 */
static bool
held_by_old_generation(struct eph_nat_worker *nw, const struct eph_nat_pool *p,
		       const struct flow *f, uint32_t out_addr, uint16_t out_port)
{
	struct eph_flow_key k;

	/* A balancer pool's ports are held by the balancer's connections. */
	if (p->balancer)
		return balancer.port_held != NULL &&
		       balancer.port_held(container_of(nw, struct eph_worker, nat), out_addr,
					  out_port, f->remote_addr, f->remote_port, f->proto);

	if (p->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT) {
		k = (struct eph_flow_key){ .dst_addr = out_addr, .dst_port = out_port,
					   .proto = f->proto };
		return eph_session_lookup(nw->mappings, &k) >= 0;
	}
	k = (struct eph_flow_key){
		.src_addr = f->remote_addr, .dst_addr = out_addr,
		.src_port = f->proto == IPPROTO_ICMP ? 0 : f->remote_port, .dst_port = out_port,
		.proto = f->proto,
	};
	return eph_session_lookup(nw->sessions, &k) >= 0;
}

#define OLD_GEN_RETRIES 8

/*
 * Port-block generation: a port of one of the host's blocks on addr, or of
 * a new block (logged). A port here serves one session whatever its
 * destination, so a port an old generation still holds is skipped and
 * released again at once.
 */
static int
take_block_port(struct eph_worker *w, unsigned int pool, const struct eph_nat_pool *p,
		const struct flow *f, uint32_t addr, uint32_t aslot, uint16_t *out_port)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_portblock *pb = nw->blocks[pool][p->gen];
	bool draining_gens = (p->gens & ~(1u << p->gen)) != 0;
	uint16_t held[OLD_GEN_RETRIES];
	unsigned int n_held = 0;
	struct eph_portblock_event ev;
	uint16_t port;
	int rc;

	for (;;) {
		rc = eph_portblock_alloc(pb, f->in_addr, addr, &port, &ev);
		if (rc < 0)
			break;
		if (rc == 1 && p->log == EPH_NAT_LOG_PORT_BLOCKS)
			log_block(w, pool, f->proto, &ev);
		if (likely(!draining_gens) ||
		    !held_by_old_generation(nw, p, f, addr, rte_cpu_to_be_16(port)))
			break;
		held[n_held++] = port; /* keep it taken while looking further */
		if (n_held == OLD_GEN_RETRIES) {
			rc = -ENOSPC;
			break;
		}
	}
	while (n_held > 0) {
		if (eph_portblock_release(pb, f->in_addr, addr, held[--n_held], &ev) == 1 &&
		    p->log == EPH_NAT_LOG_PORT_BLOCKS)
			log_block(w, pool, f->proto, &ev);
	}
	if (rc < 0)
		return rc == -EDQUOT ? -ENOSPC : rc;
	*out_port = rte_cpu_to_be_16(port);
	nw->ports_in_use[pool][aslot]++;
	nw->gen_live[pool][p->gen]++;
	nw->ctr[EPH_NAT_port_allocations]++;
	return 0;
}

/* One allocation on address addr (counter slot aslot): 0, -ENOSPC or -ENOMEM. */
static int
take_port_on(struct eph_worker *w, unsigned int pool, const struct eph_nat_pool *p,
	     const struct flow *f, uint32_t addr, uint32_t aslot, uint16_t *out_port)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_portalloc *pa = nw->alloc[pool][p->gen];
	bool draining_gens = (p->gens & ~(1u << p->gen)) != 0;
	struct eph_dest_key d;
	uint16_t port;
	int rc;

	if (p->g[p->gen].blocks)
		return take_block_port(w, pool, p, f, addr, aslot, out_port);
	dest_key(&d, p, addr, f);
	for (unsigned int t = 0;; t++) {
		rc = eph_portalloc_alloc(pa, &d, p->preservation ? rte_be_to_cpu_16(f->in_port) : 0,
					 nw->now, &port);
		if (rc != 0)
			return rc;
		if (likely(!draining_gens) ||
		    !held_by_old_generation(nw, p, f, addr, rte_cpu_to_be_16(port)))
			break;
		/* Let it rest in this generation's quarantine and try another. */
		eph_portalloc_release(pa, &d, port, nw->now, false);
		if (t + 1 == OLD_GEN_RETRIES)
			return -ENOSPC;
	}
	*out_port = rte_cpu_to_be_16(port);
	nw->ports_in_use[pool][aslot]++;
	nw->gen_live[pool][p->gen]++;
	nw->ctr[EPH_NAT_port_allocations]++;
	if (p->warn_occupancy != 0) {
		uint32_t live = eph_portalloc_last_live(pa);
		uint32_t share = eph_portalloc_share_size(pa);
		uint64_t mark = (uint64_t)share * p->warn_occupancy;

		if (unlikely(live == share))
			occupancy_alert(w, pool, &d, aslot, live, share, true);
		else if (unlikely((uint64_t)live * 100 >= mark && (uint64_t)(live - 1) * 100 < mark))
			occupancy_alert(w, pool, &d, aslot, live, share, false);
	}
	return 0;
}

/*
 * Take an outside address and port for flow f from pool p: with an
 * endpoint-independent mapping the mapped pair, else the host's paired
 * address (or, with arbitrary pooling, the next address that has a port).
 */
/* Index of active address addr (network order) in p->addrs, or -1. */
static int32_t
active_index(const struct eph_nat_pool *p, uint32_t addr)
{
	uint32_t lo = 0, hi = p->n_addrs, a = rte_be_to_cpu_32(addr);

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		uint32_t v = rte_be_to_cpu_32(p->addrs[mid]);

		if (v == a)
			return (int32_t)mid;
		if (v < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Which addresses a port may come from: the regular ones, the reserve, or both. */
enum { TAKE_ACTIVE = 1, TAKE_RESERVE = 2, TAKE_ALL = TAKE_ACTIVE | TAKE_RESERVE };

/*
 * A port for flow f on the active addresses of pool p from index first on
 * (only that one with paired pooling), then on the reserve addresses (as
 * `which` allows): 0, -ENOSPC or -ENOMEM. count: refusals go to the
 * addresses' exhausted counters (not while another worker may still lend
 * a port).
 */
static int
take_port_from(struct eph_worker *w, unsigned int pool, const struct eph_nat_pool *p,
	       const struct flow *f, uint32_t first, bool count, unsigned int which,
	       uint32_t *out_addr, uint16_t *out_port)
{
	struct eph_nat_worker *nw = &w->nat;
	uint32_t tries = p->pooling == EPH_POOLING_PAIRED ? RTE_MIN(1u, p->n_addrs) : p->n_addrs;
	int rc = -ENOSPC;

	if (!(which & TAKE_ACTIVE))
		tries = 0;
	for (uint32_t t = 0; t < tries; t++) {
		uint32_t ai = first + t < p->n_addrs ? first + t : first + t - p->n_addrs;

		rc = take_port_on(w, pool, p, f, p->addrs[ai], p->addr_slot[ai], out_port);
		if (rc == 0) {
			*out_addr = p->addrs[ai];
			return 0;
		}
		if (rc != -ENOSPC)
			return rc;
		if (count)
			nw->exhausted[pool][p->addr_slot[ai]]++;
	}
	/* Spill: reserve addresses take what the regular ones cannot. */
	for (uint32_t r = 0; r < p->n_reserve && (which & TAKE_RESERVE); r++) {
		rc = take_port_on(w, pool, p, f, p->reserve[r], p->reserve_slot[r], out_port);
		if (rc == 0) {
			*out_addr = p->reserve[r];
			return 0;
		}
		if (rc != -ENOSPC)
			return rc;
		if (count)
			nw->exhausted[pool][p->reserve_slot[r]]++;
	}
	return rc;
}

/*
 * Index of the active address a host's new ports come from first: a host
 * with sessions stays on its address whatever addresses come and go (the
 * hash would move it when their number changes); a new host, or one whose
 * address was removed, is paired by the hash.
 */
static uint32_t
first_address(const struct eph_worker *w, const struct eph_nat_pool *p, const struct flow *f,
	      const struct eph_nat_host *h)
{
	int32_t ai;

	if (h->sessions != 0 && h->paired != 0 && (ai = active_index(p, h->paired)) >= 0)
		return (uint32_t)ai;
	return paired_index(w, p, f);
}

/*
 * Take an outside address and port for flow f from pool p: with an
 * endpoint-independent mapping the mapped pair, else a port of this
 * worker's share on the host's paired address (or, with arbitrary pooling,
 * the next address that has one). count: as for take_port_from.
 */
static int
take_port(struct eph_worker *w, unsigned int pool, const struct flow *f, struct eph_nat_host *h,
	  bool count, unsigned int which, uint32_t *out_addr, uint16_t *out_port, uint8_t *gen,
	  bool *new_mapping)
{
	struct eph_nat_worker *nw = &w->nat;
	const struct eph_nat_pool *p = pool_cfg(w, pool);
	uint32_t first;
	int rc;

	*new_mapping = false;
	if (p->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT) {
		int32_t mi = mapping_find(nw, f);

		if (mi >= 0) {
			struct eph_session *m = eph_session_get(nw->mappings, (uint32_t)mi);

			*out_addr = m->out_addr;
			*out_port = m->out_port;
			*gen = m->flags & SESS_GEN_MASK;
			m->host++; /* one more session uses the mapping */
			return 0;
		}
		*new_mapping = true;
	}
	if (unlikely(p->state != EPH_POOL_ACTIVE))
		return -ENOSPC; /* draining: its sessions only, no new ports */

	*gen = p->gen;
	first = first_address(w, p, f, h);
	rc = take_port_from(w, pool, p, f, first, count, which, out_addr, out_port);
	if (rc == 0 && p->n_addrs != 0 && *out_addr == p->addrs[first])
		h->paired = *out_addr;
	return rc;
}

static void
give_port_back(struct eph_worker *w, unsigned int pool, uint8_t gen, const struct flow *f,
	       uint32_t out_addr, uint16_t out_port, bool clean)
{
	struct eph_nat_worker *nw = &w->nat;
	const struct eph_nat_pool *p = pool_cfg(w, pool);
	struct eph_dest_key d;

	if (p->g[gen].blocks) {
		struct eph_portblock_event ev;

		if (eph_portblock_release(nw->blocks[pool][gen], f->in_addr, out_addr,
					  rte_be_to_cpu_16(out_port), &ev) == 1 &&
		    p->log == EPH_NAT_LOG_PORT_BLOCKS)
			log_block(w, pool, f->proto, &ev);
	} else {
		dest_key(&d, p, out_addr, f);
		eph_portalloc_release(nw->alloc[pool][gen], &d, rte_be_to_cpu_16(out_port),
				      nw->now, clean);
	}
	nw->ports_in_use[pool][pool_addr_slot(p, out_addr)]--;
	nw->gen_live[pool][gen]--;
	nw->ctr[EPH_NAT_port_releases]++;
}

/*
 * A borrowed port back to its lender, the worker whose share it is: one
 * message on the ring of returns, which always has room (EPH_NAT_LOANS_MAX).
 */
static void
loan_return(struct eph_worker *w, unsigned int pool, uint8_t gen, const struct flow *f,
	    uint32_t out_addr, uint16_t out_port, bool clean)
{
	struct eph_dp *dp = w->dp;
	const struct eph_nat_pool *p = pool_cfg(w, pool);
	bool eim = p->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT;
	unsigned int lender = eph_portalloc_owner(rte_be_to_cpu_16(out_port), dp->n_workers);
	struct eph_nat_loan_return r = {
		.out_addr = out_addr,
		.remote_addr = eim ? 0 : f->remote_addr,
		.out_port = out_port,
		.remote_port = eim || f->proto == IPPROTO_ICMP ? 0 : f->remote_port,
		.proto = f->proto, .pool = (uint8_t)pool, .gen = gen, .clean = clean,
	};

	if (unlikely(rte_ring_sp_enqueue_elem(dp->nat.loans[w->id * dp->n_workers + lender], &r,
					      sizeof(r)) != 0))
		w->nat.ctr[EPH_NAT_loans_lost]++;
}

/* A port back where it came from: this worker's allocator, or its lender (flags: SESS_*). */
static void
port_back(struct eph_worker *w, unsigned int pool, uint8_t flags, const struct flow *f,
	  uint32_t out_addr, uint16_t out_port, bool clean)
{
	if (unlikely(flags & SESS_BORROWED)) {
		w->nat.borrowed_live--;
		loan_return(w, pool, flags & SESS_GEN_MASK, f, out_addr, out_port, clean);
	} else
		give_port_back(w, pool, flags & SESS_GEN_MASK, f, out_addr, out_port, clean);
}

/* Drop the session's hold on its port: directly, or through its EIM mapping. */
static void
release_session_port(struct eph_worker *w, const struct eph_session *s, bool clean)
{
	struct eph_nat_worker *nw = &w->nat;
	const struct eph_nat_pool *p = pool_cfg(w, s->pool);
	struct flow f = {
		.in_addr = s->in_addr, .remote_addr = s->remote_addr,
		.in_port = s->in_port, .remote_port = s->remote_port, .proto = s->proto,
	};

	if (p->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT) {
		int32_t mi = mapping_find(nw, &f);
		struct eph_session *m;

		if (mi < 0)
			return;
		m = eph_session_get(nw->mappings, (uint32_t)mi);
		if (s->flags & SESS_INBOUND)
			m->inbound--;
		if (--m->host > 0)
			return;
		port_back(w, m->pool, m->flags, &f, m->out_addr, m->out_port, clean);
		eph_session_delete(nw->mappings, (uint32_t)mi);
		return;
	}
	port_back(w, s->pool, s->flags, &f, s->out_addr, s->out_port, clean);
}

/* ---- the port service, for the balancer --------------------------- */

int
eph_nat_port_take(struct eph_worker *w, unsigned int pool, uint32_t first, uint32_t remote_addr,
		  uint16_t remote_port, uint16_t src_port, uint8_t proto, uint32_t *addr,
		  uint16_t *port, uint8_t *gen)
{
	const struct eph_nat_pool *p = pool_cfg(w, pool);
	struct flow f = {
		.in_port = src_port, .remote_addr = remote_addr, .remote_port = remote_port,
		.proto = proto,
	};

	if (unlikely(p->state != EPH_POOL_ACTIVE || p->n_addrs == 0))
		return -ENOSPC;
	*gen = p->gen;
	return take_port_from(w, pool, p, &f, first % p->n_addrs, true, TAKE_ALL, addr, port);
}

void
eph_nat_port_give(struct eph_worker *w, unsigned int pool, uint8_t gen, uint32_t remote_addr,
		  uint16_t remote_port, uint8_t proto, uint32_t addr, uint16_t port, bool clean)
{
	struct flow f = { .remote_addr = remote_addr, .remote_port = remote_port, .proto = proto };

	give_port_back(w, pool, gen, &f, addr, port, clean);
}

/* A port another worker lent for a flow (handoff meta of a LENT packet). */
struct nat_loan {
	uint32_t out_addr; /* network order */
	uint16_t out_port; /* network order */
	uint8_t gen;
	bool first;        /* on the address the host's ports come from first */
};

/*
 * The lent port for flow f, as take_port would give one; with an
 * endpoint-independent mapping made meanwhile (another flow of the same
 * inside port), that mapping's, and the loan goes back.
 */
static int
take_loan(struct eph_worker *w, unsigned int pool, const struct flow *f, struct eph_nat_host *h,
	  const struct nat_loan *loan, uint32_t *out_addr, uint16_t *out_port, uint8_t *gen,
	  bool *new_mapping)
{
	struct eph_nat_worker *nw = &w->nat;

	*new_mapping = false;
	if (pool_cfg(w, pool)->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT) {
		int32_t mi = mapping_find(nw, f);

		if (mi >= 0) {
			struct eph_session *m = eph_session_get(nw->mappings, (uint32_t)mi);

			loan_return(w, pool, loan->gen, f, loan->out_addr, loan->out_port, true);
			*out_addr = m->out_addr;
			*out_port = m->out_port;
			*gen = m->flags & SESS_GEN_MASK;
			m->host++;
			return 0;
		}
		*new_mapping = true;
	}
	*out_addr = loan->out_addr;
	*out_port = loan->out_port;
	*gen = loan->gen | SESS_BORROWED;
	if (loan->first)
		h->paired = loan->out_addr;
	nw->borrowed_live++;
	return 0;
}

/* Session idx (just made, s) is an FTP control connection: its entry, or counted without. */
static __rte_noinline void
ftp_control_open(struct eph_worker *w, uint32_t idx, struct eph_session *s)
{
	struct eph_nat_worker *nw = &w->nat;

	if (eph_ftp_open(nw->ftp, idx) == NULL) {
		nw->ctr[EPH_NAT_ftp_table_full]++;
		return;
	}
	s->flags |= SESS_FTP;
}

static bool borrow_start(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m,
			 unsigned int pool, uint32_t nh_idx, uint32_t first_addr,
			 unsigned int which);

/*
 * Returns the new session's index, or -1 after dropping m or, when this
 * worker's share is exhausted for the destination on the addresses `which`
 * names and borrow_nh (the packet's FIB next hop) is not UINT32_MAX, after
 * sending m round the other workers for a port of theirs on the same
 * addresses (borrow_start). Without borrowing, every address is tried.
 * loan: the port to use, lent by another worker (then given back if it
 * cannot be).
 */
static __rte_noinline int32_t
session_create(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, unsigned int pool,
	       const struct flow *f, struct eph_session **sp, uint32_t borrow_nh,
	       const struct nat_loan *loan, unsigned int which)
{
	struct eph_nat_worker *nw = &w->nat;
	const struct eph_nat_pool *p = pool_cfg(w, pool);
	struct eph_flow_key in_key, out_key;
	struct eph_nat_host *h;
	struct eph_session *s;
	uint32_t out_addr;
	uint16_t out_port;
	bool new_mapping;
	uint8_t gen;
	int32_t idx;
	int rc;

	if (unlikely(p->state == EPH_POOL_FREE)) {
		if (loan != NULL)
			loan_return(w, pool, loan->gen, f, loan->out_addr, loan->out_port, true);
		drop(w, m, EPH_DROP_nat_pool_removed);
		return -1;
	}
	h = host_get(nw, f->in_addr, true);
	if (h == NULL) {
		if (loan != NULL)
			loan_return(w, pool, loan->gen, f, loan->out_addr, loan->out_port, true);
		drop(w, m, EPH_DROP_nat_table_full);
		return -1;
	}
	if (p->max_per_host != 0 && h->sessions >= p->max_per_host) {
		if (loan != NULL)
			loan_return(w, pool, loan->gen, f, loan->out_addr, loan->out_port, true);
		record_refusal(nw, pool, f->in_addr, NULL, EPH_REFUSED_HOST_LIMIT);
		drop(w, m, EPH_DROP_nat_host_limit);
		return -1;
	}

	if (loan != NULL) {
		rc = take_loan(w, pool, f, h, loan, &out_addr, &out_port, &gen, &new_mapping);
	} else {
		/* Beyond this worker's share, the others' (never for port blocks: see portalloc.h). */
		bool may_borrow = borrow_nh != UINT32_MAX && w->dp->n_workers > 1 &&
				  p->state == EPH_POOL_ACTIVE && !p->g[p->gen].blocks &&
				  p->n_addrs != 0;

		rc = take_port(w, pool, f, h, !may_borrow, may_borrow ? which : TAKE_ALL, &out_addr,
			       &out_port, &gen, &new_mapping);
		if (rc == -ENOSPC && may_borrow) {
			uint32_t first = p->addrs[first_address(w, p, f, h)];

			if (h->sessions == 0)
				rte_hash_del_key(nw->hosts, &h->addr); /* back with the port */
			if (borrow_start(w, in_port, m, pool, borrow_nh, first, which))
				return -1;
			record_refusal(nw, pool, f->in_addr, NULL, EPH_REFUSED_NO_PORT);
			drop(w, m, EPH_DROP_nat_borrow_busy);
			return -1;
		}
	}
	if (rc != 0) {
		struct eph_dest_key d;

		/* The destination as tried on the host's first (paired) address. */
		dest_key(&d, p, p->n_addrs != 0 ? p->addrs[paired_index(w, p, f)] : 0, f);
		record_refusal(nw, pool, f->in_addr, rc == -ENOSPC ? &d : NULL,
			       rc == -ENOSPC ? EPH_REFUSED_NO_PORT : EPH_REFUSED_TABLE_FULL);
		if (h->sessions == 0)
			rte_hash_del_key(nw->hosts, &h->addr); /* keep no state for a refused host */
		if (rc == -ENOSPC) {
			/* RFC 6888 REQ-11: drop, maybe tell the host; never evict a mapping. */
			if (p->exhaustion_icmp && m != NULL) {
				eph_icmp_error(w, in_port, m, EPH_ICMP_DEST_UNREACH, ICMP_HOST_UNREACH,
					       0);
				nw->ctr[EPH_NAT_exhaustion_icmp_sent]++;
			}
			drop(w, m, EPH_DROP_nat_exhausted);
		} else {
			drop(w, m, EPH_DROP_nat_table_full);
		}
		return -1;
	}

	if (new_mapping) {
		struct eph_flow_key mk_in = {
			.src_addr = f->in_addr, .src_port = f->in_port, .proto = f->proto,
		};
		struct eph_flow_key mk_out = {
			.dst_addr = out_addr, .dst_port = out_port, .proto = f->proto,
		};
		struct eph_session *map;

		idx = eph_session_insert(nw->mappings, &mk_in, &mk_out, &map);
		if (idx < 0) {
			port_back(w, pool, gen, f, out_addr, out_port, true);
			if (h->sessions == 0)
				rte_hash_del_key(nw->hosts, &h->addr);
			record_refusal(nw, pool, f->in_addr, NULL, EPH_REFUSED_TABLE_FULL);
			drop(w, m, EPH_DROP_nat_table_full);
			return -1;
		}
		map->in_addr = f->in_addr;
		map->in_port = f->in_port;
		map->out_addr = out_addr;
		map->out_port = out_port;
		map->proto = f->proto;
		map->pool = (uint8_t)pool;
		map->flags = gen;
		map->host = 1;
		gen &= SESS_GEN_MASK; /* the mapping holds the port: its sessions are its own */
	}

	in_key = (struct eph_flow_key){
		.src_addr = f->in_addr, .dst_addr = f->remote_addr,
		.src_port = f->in_port, .dst_port = f->remote_port, .proto = f->proto,
	};
	out_key = (struct eph_flow_key){
		.src_addr = f->remote_addr, .dst_addr = out_addr,
		.src_port = f->remote_port, .dst_port = out_port, .proto = f->proto,
	};
	if (f->proto == IPPROTO_ICMP) {
		/* Echo: the identifier is the port, and replies carry it back unchanged. */
		out_key.src_port = 0;
		in_key.dst_port = 0;
	}
	idx = eph_session_insert(nw->sessions, &in_key, &out_key, &s);
	if (idx < 0) {
		struct eph_session tmp = {
			.in_addr = f->in_addr, .remote_addr = f->remote_addr, .out_addr = out_addr,
			.in_port = f->in_port, .remote_port = f->remote_port, .out_port = out_port,
			.proto = f->proto, .pool = (uint8_t)pool, .flags = gen,
		};

		release_session_port(w, &tmp, true);
		if (h->sessions == 0)
			rte_hash_del_key(nw->hosts, &h->addr);
		record_refusal(nw, pool, f->in_addr, NULL, EPH_REFUSED_TABLE_FULL);
		drop(w, m, EPH_DROP_nat_table_full);
		return -1;
	}
	s->in_addr = f->in_addr;
	s->out_addr = out_addr;
	s->remote_addr = f->remote_addr;
	s->in_port = f->in_port;
	s->out_port = out_port;
	s->remote_port = f->remote_port;
	s->proto = f->proto;
	s->state = f->proto == IPPROTO_TCP ? EPH_TCP_CLOSED : 0;
	s->pool = (uint8_t)pool;
	s->flags = gen;
	{
		struct eph_nat_delta d = eph_nat_delta(f->proto, f->in_addr, f->in_port, out_addr,
						       out_port);

		s->l3_delta = d.l3;
		s->l4_delta = d.l4;
	}
	s->host = (uint32_t)(h - nw->host);
	h->sessions++;
	s->expire = nw->now + eph_flow_timeout(&w->cfg->nat.timeouts, s);
	eph_session_schedule(nw->sessions, (uint32_t)idx, s->expire);
	s->created = nw->now;
	if (unlikely(p->alg_ftp) && f->proto == IPPROTO_TCP && f->remote_port == p->ftp_port)
		ftp_control_open(w, (uint32_t)idx, s);
	nw->ctr[EPH_NAT_sessions_created]++;
	session_gauge(nw, s, 1);
	if (p->log == EPH_NAT_LOG_SESSIONS)
		log_session(w, s, EPH_NATLOG_SESSION_CREATE, 0);
	*sp = s;
	return idx;
}

/* ---- FTP (nat_ftp.h) ------------------------------------------------- */

struct ftp_data {
	struct eph_worker *w;
	const struct eph_session *ctl;
};

/*
 * The outside port of the data connection a client's PORT/EPRT announces:
 * a session client:cport <-> server:L-1 (RFC 959: the port below the
 * control connection's), the one a retransmitted command made or a new
 * one, on the control connection's outside address. 0: none.
 */
static uint16_t
ftp_data_port(void *arg, uint16_t cport)
{
	const struct ftp_data *d = arg;
	struct eph_worker *w = d->w;
	struct eph_nat_worker *nw = &w->nat;
	const struct eph_session *ctl = d->ctl;
	uint16_t sport = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ctl->remote_port) - 1));
	struct flow f = {
		.in_addr = ctl->in_addr, .remote_addr = ctl->remote_addr,
		.in_port = cport, .remote_port = sport, .proto = IPPROTO_TCP,
	};
	struct eph_flow_key k = {
		.src_addr = f.in_addr, .dst_addr = f.remote_addr,
		.src_port = f.in_port, .dst_port = f.remote_port, .proto = IPPROTO_TCP,
	};
	struct eph_session *s;
	int32_t idx;

	idx = eph_session_lookup(nw->sessions, &k);
	if (idx >= 0) {
		s = eph_session_get(nw->sessions, (uint32_t)idx);
		if (s->flags & SESS_LOAN)
			return 0;
	} else {
		idx = session_create(w, 0, NULL, ctl->pool, &f, &s, UINT32_MAX, NULL, TAKE_ALL);
		if (idx < 0)
			return 0;
		nw->ctr[EPH_NAT_ftp_data_expected]++;
	}
	/* The server checks that the data connection comes from the control connection's address. */
	return s->out_addr == ctl->out_addr ? s->out_port : 0;
}

static __rte_noinline void
ftp_to_server(struct eph_worker *w, uint32_t idx, const struct eph_session *s, struct rte_mbuf *m,
	      struct rte_ipv4_hdr *ip)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_ftp_conn *c = eph_ftp_find(nw->ftp, idx);
	struct ftp_data d = { .w = w, .ctl = s };
	const struct eph_ftp_ops ops = {
		.data_port = ftp_data_port, .arg = &d,
		.client = s->in_addr, .outside = s->out_addr,
		.rewritten = &nw->ctr[EPH_NAT_ftp_commands_rewritten],
		.split_refused = &nw->ctr[EPH_NAT_ftp_split_refused],
		.refused = &nw->ctr[EPH_NAT_ftp_refused],
	};

	if (c != NULL)
		eph_ftp_to_server(c, m, ip, &ops);
}

static __rte_noinline void
ftp_to_client(struct eph_worker *w, uint32_t idx, struct rte_ipv4_hdr *ip)
{
	const struct eph_ftp_conn *c = eph_ftp_find(w->nat.ftp, idx);

	if (c != NULL)
		eph_ftp_to_client(c, ip);
}

/* ---- inside -> outside ---------------------------------------------- */

/*
 * Whether an inside ICMP error from `sender` may speak for inside host
 * `host`'s flows: the host itself, or the next hop the gateway reaches it
 * through. Any other inside host could otherwise reset or shrink (with
 * fragmentation-needed) a neighbour's connections.
 */
static bool
speaks_for(const struct eph_worker *w, uint32_t sender, uint32_t host)
{
	const struct eph_nexthop *nh;

	if (sender == host)
		return true;
	nh = eph_route_lookup(w->cfg->routes, rte_be_to_cpu_32(host));
	return nh->type == EPH_NH_GATEWAY && nh->gw == sender;
}

static __rte_noinline void
in2out_icmp_error(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m,
		  struct rte_ipv4_hdr *ip, uint32_t nh_idx)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_icmp_quote q;
	struct eph_flow_key k;
	struct eph_session *s;
	int32_t idx;

	if (!eph_icmp_error_quote(ip, eph_l4_len(ip) + IPV4_HDR_LEN, &q)) {
		drop(w, m, EPH_DROP_nat_icmp_untranslatable);
		return;
	}
	/* Its checksum is recomputed after translation: a corrupted error must not come out valid. */
	if (!icmp_cksum_ok(ip)) {
		drop(w, m, EPH_DROP_nat_icmp_bad_checksum);
		return;
	}
	/* The quote is a packet we delivered: remote -> in_addr:in_port. */
	k = (struct eph_flow_key){
		.src_addr = q.ip->dst_addr, .dst_addr = q.ip->src_addr, .proto = q.proto,
	};
	memcpy(&k.src_port, eph_l4_port(q.proto, q.l4, false), sizeof(k.src_port));
	if (q.proto != IPPROTO_ICMP)
		memcpy(&k.dst_port, eph_l4_port(q.proto, q.l4, true), sizeof(k.dst_port));
	idx = eph_session_lookup(nw->sessions, &k);
	if (idx < 0) {
		drop(w, m, EPH_DROP_nat_no_session);
		return;
	}
	s = eph_session_get(nw->sessions, (uint32_t)idx);
	/* To the quoted packet's sender, from its receiver or the router it went through. */
	if (ip->dst_addr != q.ip->src_addr || !speaks_for(w, ip->src_addr, s->in_addr)) {
		drop(w, m, EPH_DROP_nat_icmp_spoofed);
		return;
	}
	eph_nat_icmp_error_to_outside(ip, &q, s->out_addr, s->out_port,
				      (struct eph_nat_delta){ s->l3_delta, s->l4_delta });
	nw->ctr[EPH_NAT_icmp_errors_translated]++;
	eph_output_send(w, in_port, m, nh_idx);
}

/*
 * Whether a key of hash `hash` missed in a batch's lookup may have been
 * opened since by an earlier packet of the batch: only if that packet's key
 * had the same hash (opened[]: the hashes of the keys that opened sessions).
 */
static inline bool
opened_in_batch(const uint64_t *opened, unsigned int n_opened, uint64_t hash)
{
	for (unsigned int j = 0; j < n_opened; j++)
		if (opened[j] == hash)
			return true;
	return false;
}

/*
 * A packet of no session from inside: only a TCP connection opening gets a
 * port (strays would pin one for nothing). Returns the new session's
 * index, or -1 after dropping the packet.
 */
static __rte_noinline int32_t
in2out_new(struct eph_worker *w, const struct nat_pkt *p, const struct eph_flow_key *k,
	   struct eph_session **sp)
{
	const struct flow f = {
		.in_addr = k->src_addr, .remote_addr = k->dst_addr,
		.in_port = k->src_port, .remote_port = k->dst_port, .proto = k->proto,
	};

	if (k->proto == IPPROTO_TCP) {
		const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(eph_pkt_ip(p->m) + 1);

		if ((tcp->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) !=
		    RTE_TCP_SYN_FLAG) {
			drop(w, p->m, EPH_DROP_nat_tcp_not_syn);
			return -1;
		}
	}
	/* The regular addresses of every worker's share first, then the reserve. */
	return session_create(w, p->in_port, p->m, p->pool, &f, sp, p->nh, NULL, TAKE_ACTIVE);
}

/*
 * The session key of a batched packet (addresses as the IPv4 header has
 * them, then ports), and its hash and candidate record: from validation
 * when it computed them, else now, with the bucket prefetched.
 */
static inline void
batch_key(struct eph_session_table *t, const struct rte_ipv4_hdr *ip, uint32_t ports,
	  const struct nat_pkt *pk, struct eph_flow_key *key, uint64_t *hash, uint32_t *cand)
{
	uint64_t addrs;

	memcpy(&addrs, &ip->src_addr, sizeof(addrs));
	eph_flow_key_set(key, addrs, eph_flow_tail(ports, ip->next_proto_id));
	*hash = pk->hash;
	*cand = pk->cand;
	if (*hash == 0) {
		*hash = eph_session_hash(t, key);
		*cand = EPH_SESSION_NIL;
		eph_session_prefetch(t, *hash);
	}
}

/*
 * Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): an inside host's packet to
 * a pool address is first translated as it would leave (its own mapping:
 * the receiver sees the sender's outside address and port), then comes
 * back in as if it had arrived on an outside port, where the mapping of
 * the address it was sent to, and its filtering, decide (out2in, on the
 * owner of that mapping). It carries NH_HAIRPIN instead of a next hop
 * through its owner's in2out (handoffs and port loans included).
 */
#define NH_HAIRPIN (UINT32_MAX - 1) /* not UINT32_MAX: that one means "no next hop known" */

static inline bool is_icmp_error(const struct rte_ipv4_hdr *ip);

static __rte_noinline void
hairpin_return(struct eph_worker *w, struct rte_mbuf *m)
{
	const struct eph_dp *dp = w->dp;

	w->nat.ctr[EPH_NAT_hairpinned]++;
	for (uint16_t port = 0; port < dp->n_ports; port++)
		if (dp->ports[port].role == EPH_ROLE_OUTSIDE) {
			eph_input_reroute(w, port, m);
			return;
		}
	drop(w, m, EPH_DROP_nat_hairpin); /* no outside port: no pool address either */
}

/*
 * Packets from inside to pool addresses (pool_input): those whose pool
 * allows hairpinning and whose sender is an inside host of some pool go
 * through in2out towards the address; the rest are dropped as nat_hairpin.
 */
static __rte_noinline void
hairpin_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
	      const uint16_t *dst_pool, const struct eph_session_ahead *ahead, uint16_t n)
{
	const struct eph_nat_cfg *cfg = &w->cfg->nat;
	uint16_t src_pool[EPH_MAX_BURST];
	uint32_t nh[EPH_MAX_BURST];
	struct eph_session_ahead go_ahead[EPH_MAX_BURST];
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
		uint64_t pool = 0;

		/* Not for ICMP errors, nor fragments (their datagram's first decides). */
		if (pool_cfg(w, dst_pool[i])->hairpinning && !is_icmp_error(ip) &&
		    (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) == 0)
			rte_fib_lookup_bulk(cfg->inside, &(uint32_t){ rte_be_to_cpu_32(ip->src_addr) },
					    &pool, 1);
		if (pool == 0) {
			drop(w, m, EPH_DROP_nat_hairpin);
			continue;
		}
		pkts[k] = m;
		src_pool[k] = (uint16_t)(pool - 1);
		nh[k] = NH_HAIRPIN;
		go_ahead[k++] = ahead[i];
	}
	if (k != 0)
		eph_nat_in2out_burst(w, in_port, pkts, src_pool, nh, go_ahead, k);
}

/*
 * The owner's half of inside -> outside, for up to NAT_BATCH packets: keys,
 * hashes and bucket prefetches for all, one pipelined lookup, then each
 * packet in order: a hit applies its session's precomputed rewrite, a miss
 * opens a session (cold). Translated packets leave together.
 */
static void
in2out_owned(struct eph_worker *w, struct nat_pkt *p, unsigned int n)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_session_table *t = nw->sessions;
	const struct eph_flow_timeouts *to = &w->cfg->nat.timeouts;
	struct eph_flow_key keys[NAT_BATCH];
	uint64_t hash[NAT_BATCH];
	uint32_t cand[NAT_BATCH];
	int32_t idx[NAT_BATCH];
	struct rte_mbuf *out[NAT_BATCH];
	uint16_t out_port[NAT_BATCH];
	uint32_t out_nh[NAT_BATCH];
	uint64_t opened[NAT_BATCH];
	unsigned int n_keys = 0, n_out = 0, n_opened = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct rte_ipv4_hdr *ip = eph_pkt_ip(p[i].m);
		const uint8_t *l4 = (const uint8_t *)(ip + 1);
		uint32_t ports;

		if (unlikely(ip->next_proto_id == IPPROTO_ICMP)) {
			const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)l4;

			if (eph_icmp_is_error(icmp->icmp_type)) {
				in2out_icmp_error(w, p[i].in_port, p[i].m, ip, p[i].nh);
				continue;
			}
			if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST) {
				drop(w, p[i].m, EPH_DROP_nat_unsupported);
				continue;
			}
			ports = eph_flow_ports(icmp->icmp_ident, 0);
		} else {
			memcpy(&ports, l4, sizeof(ports)); /* TCP and UDP lead with both ports */
		}
		batch_key(t, ip, ports, &p[i], &keys[n_keys], &hash[n_keys], &cand[n_keys]);
		p[n_keys++] = p[i];
	}
	if (n_keys == 0)
		return;
	eph_session_lookup_bulk(t, keys, hash, cand, n_keys, idx);

	for (unsigned int i = 0; i < n_keys; i++) {
		struct rte_ipv4_hdr *ip = eph_pkt_ip(p[i].m);
		struct eph_session *s;

		/* An earlier packet of the batch may have opened this flow. */
		if (unlikely(idx[i] < 0) && opened_in_batch(opened, n_opened, hash[i]))
			idx[i] = eph_session_lookup_with_hash(t, &keys[i], hash[i]);
		if (likely(idx[i] >= 0)) {
			s = eph_session_get(t, (uint32_t)idx[i]);
		} else {
			idx[i] = in2out_new(w, &p[i], &keys[i], &s);
			if (idx[i] < 0)
				continue;
			opened[n_opened++] = hash[i];
		}
		if (unlikely(!session_touch(nw, to, (uint32_t)idx[i], s, ip, EPH_DIR_IN2OUT))) {
			drop(w, p[i].m, EPH_DROP_nat_tcp_rst_out_of_window);
			continue;
		}
		eph_nat_rewrite_src(ip, (uint8_t *)(ip + 1), s->out_addr, s->out_port,
				    (struct eph_nat_delta){ s->l3_delta, s->l4_delta });
		if (unlikely(s->flags & SESS_FTP))
			ftp_to_server(w, (uint32_t)idx[i], s, p[i].m, ip);
		if (unlikely(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG)))
			frag_learn(w, ip, EPH_DIR_IN2OUT, s);
		nw->ctr[EPH_NAT_in2out]++;
		if (unlikely(p[i].nh == NH_HAIRPIN)) {
			hairpin_return(w, p[i].m);
			continue;
		}
		out[n_out] = p[i].m;
		out_port[n_out] = p[i].in_port;
		out_nh[n_out++] = p[i].nh;
	}
	eph_output_send_burst(w, out_port, out, out_nh, (uint16_t)n_out);
}

/*
 * The inside host whose sessions an inside packet belongs to: its source,
 * or for an ICMP error the destination of the packet it quotes (routing
 * checked the quote), which a router may send as well as the host.
 */
static inline uint32_t
inside_host(const struct rte_ipv4_hdr *ip)
{
	const struct rte_ipv4_hdr *inner;

	if (likely(ip->next_proto_id != IPPROTO_ICMP) ||
	    !eph_icmp_is_error(((const struct rte_icmp_hdr *)(ip + 1))->icmp_type))
		return ip->src_addr;
	inner = (const struct rte_ipv4_hdr *)((const uint8_t *)(ip + 1) +
					      sizeof(struct rte_icmp_hdr));
	return inner->dst_addr;
}

void
eph_nat_in2out_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
		     const uint16_t *pool, const uint32_t *nh_idx,
		     const struct eph_session_ahead *ahead, uint16_t n)
{
	struct eph_dp *dp = w->dp;
	struct nat_pkt own[NAT_BATCH];
	unsigned int n_own = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
		unsigned int owner;

		if (unlikely(ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP &&
			     ip->next_proto_id != IPPROTO_ICMP)) {
			drop(w, m, EPH_DROP_nat_unsupported);
			continue;
		}
		if (unlikely(eph_ip_is_fragment(ip)) &&
		    frag_input(w, m, EPH_DIR_IN2OUT, in_port, pool[i], nh_idx[i]))
			continue;
		if (unlikely(!eph_l4_complete(ip))) {
			drop(w, m, EPH_DROP_l4_truncated);
			continue;
		}
		owner = dp->n_workers == 1 ? w->id
					   : eph_nat_host_owner(&dp->nat, inside_host(ip), dp->n_workers);
		if (owner != w->id) {
			handoff(w, owner, m, EPH_HANDOFF_IN2OUT, in_port, pool[i], nh_idx[i]);
			continue;
		}
		own[n_own++] = (struct nat_pkt){
			.m = m, .hash = ahead[i].hash, .cand = ahead[i].cand, .nh = nh_idx[i],
			.in_port = in_port, .pool = pool[i],
		};
		if (n_own == NAT_BATCH) {
			in2out_owned(w, own, n_own);
			n_own = 0;
		}
	}
	if (n_own != 0)
		in2out_owned(w, own, n_own);
}

/* ---- outside -> inside ---------------------------------------------- */

/*
 * The outside port a packet to a pool address is for: TCP/UDP destination
 * port, echo reply identifier, or the source port of an ICMP error's quote.
 * Returns false (after dropping m) when there is none.
 */
static bool
outside_port_of(struct eph_worker *w, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		uint16_t *port_be)
{
	uint8_t *l4 = (uint8_t *)(ip + 1);

	if (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) {
		memcpy(port_be, l4 + 2, sizeof(*port_be));
		return true;
	}
	if (ip->next_proto_id == IPPROTO_ICMP) {
		const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)l4;
		struct eph_icmp_quote q;

		if (icmp->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
			*port_be = icmp->icmp_ident;
			return true;
		}
		if (eph_icmp_is_error(icmp->icmp_type)) {
			if (!eph_icmp_error_quote(ip, eph_l4_len(ip) + IPV4_HDR_LEN, &q)) {
				drop(w, m, EPH_DROP_nat_icmp_untranslatable);
				return false;
			}
			memcpy(port_be, eph_l4_port(q.proto, q.l4, true), sizeof(*port_be));
			return true;
		}
	}
	drop(w, m, EPH_DROP_nat_unsupported);
	return false;
}

static __rte_noinline void
out2in_icmp_error(struct eph_worker *w, uint16_t in_port, uint16_t pool, struct rte_mbuf *m,
		  struct rte_ipv4_hdr *ip)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_icmp_quote q;
	struct eph_flow_key k;
	struct eph_session *s;
	int32_t idx;

	eph_icmp_error_quote(ip, eph_l4_len(ip) + IPV4_HDR_LEN, &q); /* checked by outside_port_of */
	if (!icmp_cksum_ok(ip)) {
		drop(w, m, EPH_DROP_nat_icmp_bad_checksum);
		return;
	}
	/* The quote is a packet we sent: out_addr:out_port -> remote. */
	k = (struct eph_flow_key){
		.src_addr = q.ip->dst_addr, .dst_addr = q.ip->src_addr, .proto = q.proto,
	};
	memcpy(&k.dst_port, eph_l4_port(q.proto, q.l4, true), sizeof(k.dst_port));
	if (q.proto != IPPROTO_ICMP)
		memcpy(&k.src_port, eph_l4_port(q.proto, q.l4, false), sizeof(k.src_port));
	/* The error's sender may be a router on the path, not the remote: no check on it. */
	idx = eph_session_lookup(nw->sessions, &k);
	if (idx < 0 && nw->mappings != NULL && q.ip->src_addr == ip->dst_addr) {
		/* No session here: maybe a mapping of a port this worker lent. */
		struct eph_flow_key mk = { .dst_addr = k.dst_addr, .dst_port = k.dst_port,
					   .proto = k.proto };
		int32_t mi = eph_session_lookup(nw->mappings, &mk);

		if (mi >= 0 && (eph_session_get(nw->mappings, (uint32_t)mi)->flags & SESS_LOAN)) {
			handoff(w, eph_session_get(nw->mappings, (uint32_t)mi)->host, m,
				EPH_HANDOFF_OUT2IN, in_port, pool, UINT32_MAX);
			return;
		}
	}
	if (idx < 0 || q.ip->src_addr != ip->dst_addr) {
		drop(w, m, EPH_DROP_nat_no_session);
		return;
	}
	s = eph_session_get(nw->sessions, (uint32_t)idx);
	if (unlikely(s->flags & SESS_LOAN)) {
		handoff(w, s->host, m, EPH_HANDOFF_OUT2IN, in_port, pool, UINT32_MAX);
		return;
	}
	eph_nat_icmp_error_to_inside(ip, &q, s->in_addr, s->in_port,
				     (struct eph_nat_delta){ s->l3_delta, s->l4_delta });
	nw->ctr[EPH_NAT_icmp_errors_translated]++;
	eph_output_send(w, in_port, m, UINT32_MAX);
}

/*
 * A packet for an endpoint-independent mapping from a remote it has no
 * session with: with endpoint-independent filtering it opens one, if it
 * opens a connection (TCP: a SYN, as from inside), and within the limits:
 * sessions from outside per mapping (the pool's max-inbound-per-mapping)
 * and per worker (a quarter of its table), so strangers cannot fill the
 * table for the transitory timeout. Returns the session, or -1 with
 * *consumed telling whether m was dropped.
 */
static __rte_noinline int32_t
eim_inbound(struct eph_worker *w, const struct nat_pkt *pk, const struct eph_flow_key *k,
	    struct eph_session **sp, bool *consumed)
{
	struct rte_mbuf *m = pk->m;
	struct eph_nat_worker *nw = &w->nat;
	struct eph_flow_key mk = { .dst_addr = k->dst_addr, .dst_port = k->dst_port,
				   .proto = k->proto };
	const struct eph_nat_pool *p;
	struct eph_session *map;
	struct flow f;
	int32_t mi, idx;

	*consumed = false;
	if (nw->mappings == NULL)
		return -1;
	mi = eph_session_lookup(nw->mappings, &mk);
	if (mi < 0)
		return -1;
	map = eph_session_get(nw->mappings, (uint32_t)mi);
	if (unlikely(map->flags & SESS_LOAN)) {
		/* A port of this share lent for the mapping: its sessions live on the borrower. */
		handoff(w, map->host, m, EPH_HANDOFF_OUT2IN, pk->in_port, pk->pool, UINT32_MAX);
		*consumed = true;
		return -1;
	}
	p = pool_cfg(w, map->pool);
	if (p->filtering != EPH_FILTERING_ENDPOINT_INDEPENDENT)
		return -1;
	if (k->proto == IPPROTO_TCP &&
	    (((const struct rte_tcp_hdr *)(eph_pkt_ip(m) + 1))->tcp_flags &
	     (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) != RTE_TCP_SYN_FLAG)
		return -1; /* no session: maybe another worker's (or dropped as such) */
	if (map->inbound >= p->max_inbound_per_mapping || nw->inbound >= nw->max_inbound) {
		drop(w, m, EPH_DROP_nat_inbound_limit);
		*consumed = true;
		return -1;
	}
	f = (struct flow){
		.in_addr = map->in_addr, .remote_addr = k->src_addr,
		.in_port = map->in_port, .remote_port = k->src_port, .proto = k->proto,
	};
	idx = session_create(w, 0, m, map->pool, &f, sp, UINT32_MAX, NULL, TAKE_ALL);
	if (idx < 0) {
		*consumed = true;
		return -1;
	}
	/* session_create found the same mapping and counted this session on it. */
	(*sp)->flags |= SESS_INBOUND;
	map->inbound++;
	nw->inbound++;
	return idx;
}

/* The worker that owns outside port `port` (host order) in generation g of pool p. */
static inline unsigned int
gen_port_owner(const struct eph_nat_pool *p, unsigned int g, uint16_t port, unsigned int n_workers)
{
	const struct eph_nat_gen *ng = &p->g[g];

	return ng->blocks ? eph_portblock_owner(port, ng->port_lo, ng->block_size, n_workers)
			  : eph_portalloc_owner(port, n_workers);
}

/*
 * Ask the owner under the next generation not yet *tried (the current one
 * first), marking every generation that worker owns the port under as
 * tried. Generations usually agree; while one of another shape drains
 * (a new range of port blocks, or blocks against shares) a reply may have
 * to visit two or three workers. UINT_MAX: none is left.
 */
static unsigned int
next_port_owner(const struct eph_nat_pool *p, uint16_t port, unsigned int n_workers,
		uint32_t *tried)
{
	unsigned int first = EPH_PA_GENS, owner;

	if (!(*tried & (1u << p->gen)) && (p->gens & (1u << p->gen)))
		first = p->gen;
	for (unsigned int g = 0; g < EPH_PA_GENS && first == EPH_PA_GENS; g++)
		if ((p->gens & (1u << g)) && !(*tried & (1u << g)))
			first = g;
	if (first == EPH_PA_GENS)
		return UINT_MAX;
	owner = gen_port_owner(p, first, port, n_workers);
	for (unsigned int g = 0; g < EPH_PA_GENS; g++)
		if ((p->gens & (1u << g)) && gen_port_owner(p, g, port, n_workers) == owner)
			*tried |= 1u << g;
	return owner;
}

/*
 * A packet from outside that matches no session: an endpoint-independent
 * mapping may let it in, another worker may own its port under another
 * allocator generation, or it is dropped. Returns the session's index, or
 * -1 once the packet is dropped or handed off.
 */
static __rte_noinline int32_t
out2in_miss(struct eph_worker *w, struct nat_pkt *p, const struct eph_flow_key *k,
	    struct eph_session **sp)
{
	const struct eph_nat_pool *pc = pool_cfg(w, p->pool);
	unsigned int next = UINT_MAX;
	bool consumed = false;
	int32_t idx;

	/* Only what was asked for gets in (unless a mapping filters independently). */
	idx = eim_inbound(w, p, k, sp, &consumed);
	if (idx >= 0 || consumed)
		return idx >= 0 ? idx : -1;
	if (w->dp->n_workers > 1 && (pc->gens & ~p->nh) != 0)
		next = next_port_owner(pc, rte_be_to_cpu_16(k->dst_port), w->dp->n_workers, &p->nh);
	if (next != UINT_MAX && next != w->id)
		handoff(w, next, p->m, EPH_HANDOFF_OUT2IN, p->in_port, p->pool, p->nh);
	else
		drop(w, p->m, EPH_DROP_nat_no_session);
	return -1;
}

/*
 * The owner's half of outside -> inside, for up to NAT_BATCH packets, as
 * in2out_owned: one pipelined lookup, then each packet in order. The
 * translated packets go to their inside hosts with one FIB lookup for all.
 */
static void
out2in_owned(struct eph_worker *w, struct nat_pkt *p, unsigned int n)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_session_table *t = nw->sessions;
	const struct eph_flow_timeouts *to = &w->cfg->nat.timeouts;
	struct eph_flow_key keys[NAT_BATCH];
	uint64_t hash[NAT_BATCH];
	uint32_t cand[NAT_BATCH];
	int32_t idx[NAT_BATCH];
	struct rte_mbuf *out[NAT_BATCH];
	uint16_t out_port[NAT_BATCH];
	uint32_t out_nh[NAT_BATCH];
	uint64_t opened[NAT_BATCH];
	unsigned int n_keys = 0, n_out = 0, n_opened = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct rte_ipv4_hdr *ip = eph_pkt_ip(p[i].m);
		const uint8_t *l4 = (const uint8_t *)(ip + 1);
		uint32_t ports;

		if (unlikely(ip->next_proto_id == IPPROTO_ICMP)) {
			const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)l4;

			/* outside_port_of let in echo replies and errors only. */
			if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REPLY) {
				out2in_icmp_error(w, p[i].in_port, p[i].pool, p[i].m, ip);
				continue;
			}
			ports = eph_flow_ports(0, icmp->icmp_ident);
		} else {
			memcpy(&ports, l4, sizeof(ports)); /* TCP and UDP lead with both ports */
		}
		batch_key(t, ip, ports, &p[i], &keys[n_keys], &hash[n_keys], &cand[n_keys]);
		p[n_keys++] = p[i];
	}
	if (n_keys == 0)
		return;
	eph_session_lookup_bulk(t, keys, hash, cand, n_keys, idx);

	for (unsigned int i = 0; i < n_keys; i++) {
		struct rte_ipv4_hdr *ip = eph_pkt_ip(p[i].m);
		struct eph_session *s;

		/* An earlier packet of the batch may have opened this flow (EIM filtering). */
		if (unlikely(idx[i] < 0) && opened_in_batch(opened, n_opened, hash[i]))
			idx[i] = eph_session_lookup_with_hash(t, &keys[i], hash[i]);
		if (likely(idx[i] >= 0)) {
			s = eph_session_get(t, (uint32_t)idx[i]);
			if (unlikely(s->flags & SESS_LOAN)) {
				/* A port of this share on loan: the session is the borrower's. */
				handoff(w, s->host, p[i].m, EPH_HANDOFF_OUT2IN, p[i].in_port,
					p[i].pool, UINT32_MAX);
				continue;
			}
		} else {
			idx[i] = out2in_miss(w, &p[i], &keys[i], &s);
			if (idx[i] < 0)
				continue;
			opened[n_opened++] = hash[i];
		}
		if (unlikely(s->flags & SESS_FTP))
			ftp_to_client(w, (uint32_t)idx[i], ip);
		if (unlikely(!session_touch(nw, to, (uint32_t)idx[i], s, ip, EPH_DIR_OUT2IN))) {
			drop(w, p[i].m, EPH_DROP_nat_tcp_rst_out_of_window);
			continue;
		}
		eph_nat_rewrite_dst(ip, (uint8_t *)(ip + 1), s->in_addr, s->in_port,
				    (struct eph_nat_delta){ s->l3_delta, s->l4_delta });
		if (unlikely(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG)))
			frag_learn(w, ip, EPH_DIR_OUT2IN, s);
		/* Inside hosts are mostly on-link: their address is the next hop to resolve. */
		eph_neigh_cache_prefetch(s->in_addr);
		out[n_out] = p[i].m;
		out_port[n_out] = p[i].in_port;
		out_nh[n_out++] = UINT32_MAX; /* where the inside address lives: looked up */
	}
	nw->ctr[EPH_NAT_out2in] += n_out;
	eph_output_send_burst(w, out_port, out, out_nh, (uint16_t)n_out);
}

unsigned int
eph_nat_port_owner_of(const struct eph_worker *w, unsigned int pool, uint16_t port)
{
	uint32_t tried = 0;
	unsigned int owner;

	if (w->dp->n_workers == 1)
		return w->id;
	owner = next_port_owner(pool_cfg(w, pool), port, w->dp->n_workers, &tried);
	return owner != UINT_MAX ? owner : eph_portalloc_owner(port, w->dp->n_workers);
}

void
eph_nat_out2in_burst(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts,
		     const uint16_t *pool, const struct eph_session_ahead *ahead, uint16_t n)
{
	struct eph_dp *dp = w->dp;
	struct nat_pkt own[NAT_BATCH];
	unsigned int n_own = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
		uint32_t tried = UINT32_MAX; /* one worker: every generation is its own */
		unsigned int owner = w->id;
		uint16_t port_be;

		if (unlikely(eph_ip_is_fragment(ip)) &&
		    frag_input(w, m, EPH_DIR_OUT2IN, in_port, pool[i], UINT32_MAX))
			continue;
		if (unlikely(!eph_l4_complete(ip))) {
			drop(w, m, EPH_DROP_l4_truncated);
			continue;
		}
		if (!outside_port_of(w, m, ip, &port_be))
			continue;
		if (dp->n_workers > 1) {
			tried = 0;
			owner = next_port_owner(pool_cfg(w, pool[i]), rte_be_to_cpu_16(port_be),
						dp->n_workers, &tried);
			if (owner == UINT_MAX)
				owner = eph_portalloc_owner(rte_be_to_cpu_16(port_be),
							    dp->n_workers);
		}
		if (owner != w->id) {
			handoff(w, owner, m, EPH_HANDOFF_OUT2IN, in_port, pool[i], tried);
			continue;
		}
		own[n_own++] = (struct nat_pkt){
			.m = m, .hash = ahead[i].hash, .cand = ahead[i].cand, .nh = tried,
			.in_port = in_port, .pool = pool[i],
		};
		if (n_own == NAT_BATCH) {
			out2in_owned(w, own, n_own);
			n_own = 0;
		}
	}
	if (n_own != 0)
		out2in_owned(w, own, n_own);
}

/* ---- port lending ---------------------------------------------------- */

/* The flow of an inside packet (TCP, UDP or ICMP echo request, checked by the caller). */
static void
flow_of_inside(const struct rte_ipv4_hdr *ip, struct flow *f)
{
	const uint8_t *l4 = (const uint8_t *)(ip + 1);

	*f = (struct flow){
		.in_addr = ip->src_addr, .remote_addr = ip->dst_addr, .proto = ip->next_proto_id,
	};
	if (f->proto == IPPROTO_ICMP) {
		f->in_port = ((const struct rte_icmp_hdr *)l4)->icmp_ident;
	} else {
		memcpy(&f->in_port, l4, sizeof(f->in_port));
		memcpy(&f->remote_port, l4 + 2, sizeof(f->remote_port));
	}
}

/* The next worker to ask after this one, never the borrower. */
static unsigned int
next_lender(const struct eph_worker *w, unsigned int from, unsigned int borrower)
{
	unsigned int n = w->dp->n_workers, next = from + 1 < n ? from + 1 : 0;

	if (next == borrower)
		next = next + 1 < n ? next + 1 : 0;
	return next;
}

/*
 * Send a new flow's packet to a worker that may lend a port of its share,
 * the one that lent last first; m comes back as LENT. False, m untouched,
 * when the ring to that worker is over half full: borrowing must not crowd
 * out the packets handed over for their sessions (a flood of new flows to
 * a destination exhausted everywhere asks every worker once per flow).
 */
static bool
borrow_start(struct eph_worker *w, uint16_t in_port, struct rte_mbuf *m, unsigned int pool,
	     uint32_t nh_idx, uint32_t first_addr, unsigned int which)
{
	struct eph_dp *dp = w->dp;
	struct eph_pkt_meta *meta = eph_pkt_meta(dp, m);
	unsigned int lender = w->nat.lend_hint;
	const struct rte_ring *r;

	if (lender >= dp->n_workers || lender == w->id)
		lender = next_lender(w, w->id, w->id);
	r = dp->nat.handoff[w->id * dp->n_workers + lender];
	if (rte_ring_free_count(r) < rte_ring_get_capacity(r) / 2)
		return false;
	meta->loan_addr = first_addr;
	meta->loan_port = 0;
	meta->loan_gen = 0;
	meta->loan_first = 0;
	meta->loan_which = (uint8_t)which;
	meta->borrower = (uint16_t)w->id;
	meta->asked = 1;
	if (handoff(w, lender, m, EPH_HANDOFF_BORROW, in_port, (uint16_t)pool, nh_idx))
		w->nat.ctr[EPH_NAT_borrow_requests]++;
	return true;
}

/*
 * The record that steers replies to a lent port to its borrower: under
 * the flow's outside key, in the sessions (or, for an endpoint-independent
 * mapping, in the mappings), never scheduled, never seen by a packet from
 * inside (the host is the borrower's).
 */
static int32_t
loan_record_add(struct eph_worker *w, unsigned int pool, const struct flow *f, uint32_t out_addr,
		uint16_t out_port, uint8_t gen, unsigned int borrower)
{
	struct eph_nat_worker *nw = &w->nat;
	bool eim = pool_cfg(w, pool)->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT;
	struct eph_session_table *t = eim ? nw->mappings : nw->sessions;
	struct eph_flow_key in_key, out_key;
	struct eph_session *r;
	int32_t idx;

	if (eim) {
		in_key = (struct eph_flow_key){
			.src_addr = f->in_addr, .src_port = f->in_port, .proto = f->proto,
		};
		out_key = (struct eph_flow_key){
			.dst_addr = out_addr, .dst_port = out_port, .proto = f->proto,
		};
	} else {
		in_key = (struct eph_flow_key){
			.src_addr = f->in_addr, .dst_addr = f->remote_addr, .src_port = f->in_port,
			.dst_port = f->proto == IPPROTO_ICMP ? 0 : f->remote_port, .proto = f->proto,
		};
		out_key = (struct eph_flow_key){
			.src_addr = f->remote_addr, .dst_addr = out_addr,
			.src_port = f->proto == IPPROTO_ICMP ? 0 : f->remote_port,
			.dst_port = out_port, .proto = f->proto,
		};
	}
	idx = eph_session_insert(t, &in_key, &out_key, &r);
	if (idx < 0)
		return idx;
	r->in_addr = f->in_addr;
	r->in_port = f->in_port;
	r->out_addr = out_addr;
	r->out_port = out_port;
	r->proto = f->proto;
	r->pool = (uint8_t)pool;
	r->flags = gen | SESS_LOAN;
	r->host = borrower;
	r->created = nw->now;
	if (eim)
		nw->loan_mappings++;
	else
		nw->loan_sessions++;
	return idx;
}

static void
loan_record_del(struct eph_worker *w, struct eph_session_table *t, uint32_t idx)
{
	if (t == w->nat.mappings)
		w->nat.loan_mappings--;
	else
		w->nat.loan_sessions--;
	eph_session_delete(t, idx);
}

/*
 * A BORROW packet: lend a port of this worker's share for its flow's
 * destination (on the address the borrower asked for first, as its own
 * take_port would), or pass it to the next worker; the last one asked
 * sends it back without a port. The lender counts the port in use, and
 * keeps it live for the destination, until the borrower gives it back.
 */
static __rte_noinline void
lend(struct eph_worker *w, struct rte_mbuf *m)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_pkt_meta *meta = eph_pkt_meta(w->dp, m);
	unsigned int borrower = meta->borrower, pool = meta->out_port;
	const struct eph_nat_pool *p = pool_cfg(w, pool);
	uint32_t out_addr = 0;
	uint16_t out_port = 0;
	int32_t rec = -1;
	struct flow f;

	flow_of_inside(eph_pkt_ip(m), &f);
	if (nw->lent_to[borrower] < EPH_NAT_LOANS_MAX && p->state == EPH_POOL_ACTIVE &&
	    !p->g[p->gen].blocks && p->n_addrs != 0) {
		int32_t first = active_index(p, meta->loan_addr);

		if (take_port_from(w, pool, p, &f, first >= 0 ? (uint32_t)first : 0, false,
				   meta->loan_which, &out_addr, &out_port) == 0) {
			rec = loan_record_add(w, pool, &f, out_addr, out_port, p->gen, borrower);
			if (rec < 0) /* the flow's key is here already: an earlier loan of it */
				give_port_back(w, pool, p->gen, &f, out_addr, out_port, true);
		}
	}
	if (rec < 0) {
		nw->ctr[EPH_NAT_lend_refused]++;
		if (meta->asked + 1u < w->dp->n_workers) {
			meta->asked++;
			handoff_as_is(w, next_lender(w, w->id, borrower), m);
		} else {
			meta->kind = EPH_HANDOFF_LENT;
			handoff_as_is(w, borrower, m);
		}
		return;
	}
	meta->kind = EPH_HANDOFF_LENT;
	meta->loan_first = out_addr == meta->loan_addr;
	meta->loan_addr = out_addr;
	meta->loan_port = out_port;
	meta->loan_gen = p->gen;
	if (!handoff_as_is(w, borrower, m)) {
		struct eph_session_table *t =
			p->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT ? nw->mappings : nw->sessions;

		loan_record_del(w, t, (uint32_t)rec);
		give_port_back(w, pool, p->gen, &f, out_addr, out_port, true);
		return;
	}
	nw->lent_to[borrower]++;
	nw->ctr[EPH_NAT_ports_lent]++;
}

/*
 * A LENT packet back on its borrower: open its session on the lent port
 * (or, without one, try this worker's share once more and refuse as usual),
 * unless the flow got a session meanwhile (the loan goes back). Packets
 * with a session join the batch, to be translated as any other.
 */
static __rte_noinline void
lent_arrive(struct eph_worker *w, struct rte_mbuf *m, struct nat_pkt *batch, unsigned int *n)
{
	struct eph_nat_worker *nw = &w->nat;
	const struct eph_pkt_meta *meta = eph_pkt_meta(w->dp, m);
	struct nat_loan loan = {
		.out_addr = meta->loan_addr, .out_port = meta->loan_port, .gen = meta->loan_gen,
		.first = meta->loan_first != 0,
	};
	bool lent = meta->loan_port != 0;
	struct eph_flow_key k;
	struct eph_session *s;
	struct flow f;

	flow_of_inside(eph_pkt_ip(m), &f);
	if (lent) {
		nw->ctr[EPH_NAT_ports_borrowed]++;
		nw->lend_hint = (uint16_t)eph_portalloc_owner(rte_be_to_cpu_16(loan.out_port),
							      w->dp->n_workers);
	}
	/* Its next hop is of the snapshot it was routed under. */
	if (unlikely(meta->cfg_gen != (uint32_t)w->cfg->generation)) {
		if (lent)
			loan_return(w, meta->out_port, loan.gen, &f, loan.out_addr, loan.out_port,
				    true);
		eph_input_reroute(w, meta->in_port, m);
		return;
	}
	k = (struct eph_flow_key){
		.src_addr = f.in_addr, .dst_addr = f.remote_addr, .src_port = f.in_port,
		.dst_port = f.remote_port, .proto = f.proto,
	};
	if (eph_session_lookup(nw->sessions, &k) >= 0) {
		if (lent)
			loan_return(w, meta->out_port, loan.gen, &f, loan.out_addr, loan.out_port,
				    true);
	} else if (lent) {
		if (session_create(w, meta->in_port, m, meta->out_port, &f, &s, UINT32_MAX, &loan,
				   TAKE_ALL) < 0)
			return;
	} else if (meta->loan_which == TAKE_ACTIVE &&
		   pool_cfg(w, meta->out_port)->n_reserve != 0) {
		/* No regular address has a port anywhere: the reserve, here or lent. */
		if (session_create(w, meta->in_port, m, meta->out_port, &f, &s, meta->nexthop,
				   NULL, TAKE_RESERVE) < 0)
			return;
	} else if (session_create(w, meta->in_port, m, meta->out_port, &f, &s, UINT32_MAX, NULL,
				  TAKE_ALL) < 0) {
		return; /* refused: every share of every address tried, counted as usual */
	}
	batch[(*n)++] = (struct nat_pkt){
		.m = m, .hash = 0, .cand = EPH_SESSION_NIL, .nh = meta->nexthop,
		.in_port = meta->in_port, .pool = meta->out_port,
	};
}

/* A lent port given back by `borrower`: its loan record goes, the port rests here. */
static void
loan_close(struct eph_worker *w, unsigned int borrower, const struct eph_nat_loan_return *r)
{
	struct eph_nat_worker *nw = &w->nat;
	bool eim = pool_cfg(w, r->pool)->mapping == EPH_MAPPING_ENDPOINT_INDEPENDENT;
	struct eph_session_table *t = eim ? nw->mappings : nw->sessions;
	struct eph_flow_key k;
	struct eph_session *rec;
	struct flow f;
	int32_t idx;

	if (eim)
		k = (struct eph_flow_key){ .dst_addr = r->out_addr, .dst_port = r->out_port,
					   .proto = r->proto };
	else
		k = (struct eph_flow_key){ .src_addr = r->remote_addr, .dst_addr = r->out_addr,
					   .src_port = r->remote_port, .dst_port = r->out_port,
					   .proto = r->proto };
	idx = t != NULL ? eph_session_lookup(t, &k) : -1;
	rec = idx >= 0 ? eph_session_get(t, (uint32_t)idx) : NULL;
	if (unlikely(rec == NULL || !(rec->flags & SESS_LOAN) || rec->host != borrower)) {
		nw->ctr[EPH_NAT_loans_lost]++; /* cannot happen: every loan has its record */
		return;
	}
	f = (struct flow){
		.in_addr = rec->in_addr, .remote_addr = rec->remote_addr, .in_port = rec->in_port,
		.remote_port = rec->remote_port, .proto = rec->proto,
	};
	give_port_back(w, rec->pool, rec->flags & SESS_GEN_MASK, &f, rec->out_addr, rec->out_port,
		       r->clean != 0);
	loan_record_del(w, t, (uint32_t)idx);
	nw->lent_to[borrower]--;
	nw->ctr[EPH_NAT_loans_returned]++;
}

/* Loan returns from every borrower, a bounded number per loop. */
static void
loan_returns_drain(struct eph_worker *w)
{
	struct eph_dp *dp = w->dp;

	for (unsigned int from = 0; from < dp->n_workers; from++) {
		struct eph_nat_loan_return r[HANDOFF_BURST];
		struct rte_ring *ring = dp->nat.loans[from * dp->n_workers + w->id];
		unsigned int n;

		if (ring == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst_elem(ring, r, sizeof(r[0]), HANDOFF_BURST, NULL);
		for (unsigned int i = 0; i < n; i++)
			loan_close(w, from, &r[i]);
	}
}

/* Packets other workers handed over: each kind through its owner's half, in batches. */
void
eph_nat_handoff_drain(struct eph_worker *w)
{
	struct eph_dp *dp = w->dp;
	struct rte_mbuf *pkts[HANDOFF_BURST];

	/* Returns first: a BORROW may need the port or the key a return frees. */
	loan_returns_drain(w);
	for (unsigned int from = 0; from < dp->n_workers; from++) {
		struct rte_ring *r = dp->nat.handoff[from * dp->n_workers + w->id];
		struct nat_pkt in2out[HANDOFF_BURST], out2in[HANDOFF_BURST];
		struct rte_mbuf *lb[HANDOFF_BURST], *frag[HANDOFF_BURST];
		unsigned int n, n_in2out = 0, n_out2in = 0, n_lb = 0, n_frag = 0;

		if (r == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(r, (void **)pkts, HANDOFF_BURST, NULL);
		if (n == 0)
			continue;
		w->nat.ctr[EPH_NAT_handoff_in] += n;
		for (unsigned int i = 0; i < n; i++) {
			const struct eph_pkt_meta *meta = eph_pkt_meta(dp, pkts[i]);
			struct nat_pkt p = {
				.m = pkts[i], .nh = meta->nexthop, .in_port = meta->in_port,
				.pool = meta->out_port,
			};

			if (unlikely(meta->kind == EPH_HANDOFF_LENT))
				lent_arrive(w, pkts[i], in2out, &n_in2out);
			/* After the batches: their first fragments are ahead of them in the ring. */
			else if (unlikely(meta->kind == EPH_HANDOFF_FRAG))
				frag[n_frag++] = pkts[i];
			/* Routed under another snapshot (a live change in between): again, under ours. */
			else if (unlikely(meta->cfg_gen != (uint32_t)w->cfg->generation))
				eph_input_reroute(w, meta->in_port, pkts[i]);
			else if (unlikely(meta->kind == EPH_HANDOFF_BORROW))
				lend(w, pkts[i]);
			else if (meta->kind == EPH_HANDOFF_LB_CLIENT ||
				 meta->kind == EPH_HANDOFF_LB_REPLY)
				lb[n_lb++] = pkts[i];
			else if (meta->kind == EPH_HANDOFF_IN2OUT)
				in2out[n_in2out++] = p;
			else
				out2in[n_out2in++] = p;
		}
		if (n_in2out != 0)
			in2out_owned(w, in2out, n_in2out);
		if (n_out2in != 0)
			out2in_owned(w, out2in, n_out2in);
		if (n_lb != 0 && balancer.handoff_input != NULL)
			balancer.handoff_input(w, lb, (uint16_t)n_lb);
		for (unsigned int i = 0; i < n_frag; i++) {
			const struct eph_pkt_meta *meta = eph_pkt_meta(dp, frag[i]);

			/* Only later fragments are handed so: a first would be a bug, never sent. */
			if (eph_frag_offset(eph_pkt_ip(frag[i])) == 0 ||
			    !frag_input(w, frag[i], (int)meta->nexthop, meta->in_port,
					meta->out_port, UINT32_MAX))
				drop(w, frag[i], EPH_DROP_ip_fragment);
		}
	}
}

/* ---- top destinations ------------------------------------------------ */

struct top_build {
	struct eph_nat_top_entry e[EPH_NAT_TOP_N];
	uint32_t n;
	uint8_t pool;
	uint32_t share;
};

/* Keep the EPH_NAT_TOP_N destinations with most live ports (insertion into a short sorted list). */
static void
top_visit(const struct eph_dest_key *d, uint32_t live, uint32_t resting, void *arg)
{
	struct top_build *b = arg;
	uint32_t i;

	if (b->n == EPH_NAT_TOP_N && live <= b->e[EPH_NAT_TOP_N - 1].live)
		return;
	i = b->n < EPH_NAT_TOP_N ? b->n++ : EPH_NAT_TOP_N - 1;
	while (i > 0 && b->e[i - 1].live < live) {
		b->e[i] = b->e[i - 1];
		i--;
	}
	b->e[i] = (struct eph_nat_top_entry){
		.out_addr = d->out_addr, .remote_addr = d->remote_addr,
		.remote_port = d->remote_port, .proto = d->proto, .pool = b->pool,
		.live = live, .resting = resting, .share = b->share,
	};
}

/* Once a second, off the packet path's critical section: rebuild and publish the top N. */
static __rte_noinline void
top_refresh(struct eph_worker *w)
{
	const struct eph_nat_cfg *cfg = &w->cfg->nat;
	struct eph_nat_worker *nw = &w->nat;
	struct top_build b = { .n = 0 };

	for (unsigned int p = 0; p < cfg->n_slots; p++)
		for (unsigned int g = 0; g < EPH_PA_GENS; g++) {
			if (!(cfg->pools[p].gens & (1u << g)) || cfg->pools[p].g[g].blocks)
				continue;
			b.pool = (uint8_t)p;
			b.share = eph_portalloc_share_size(nw->alloc[p][g]);
			eph_portalloc_foreach(nw->alloc[p][g], top_visit, &b);
		}
	rte_seqcount_write_begin(&nw->top.seq);
	memcpy(nw->top.e, b.e, sizeof(b.e));
	nw->top.n = b.n;
	rte_seqcount_write_end(&nw->top.seq);
}

unsigned int
eph_nat_top_read(const struct eph_nat_worker *nw, struct eph_nat_top_entry out[EPH_NAT_TOP_N])
{
	uint32_t sn, n;

	do {
		sn = rte_seqcount_read_begin(&nw->top.seq);
		n = nw->top.n;
		memcpy(out, nw->top.e, sizeof(nw->top.e));
	} while (rte_seqcount_read_retry(&nw->top.seq, sn));
	return n;
}

/* ---- expiry ---------------------------------------------------------- */

/* End session idx: its port back (clean or to rest), its host's count, the log. */
static void
session_end(struct eph_worker *w, struct eph_session_table *t, uint32_t idx, uint8_t reason)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_session *s = eph_session_get(t, idx);
	bool clean = s->proto == IPPROTO_TCP && eph_tcp_closed_cleanly(s->state);

	if (pool_cfg(w, s->pool)->log == EPH_NAT_LOG_SESSIONS)
		log_session(w, s, EPH_NATLOG_SESSION_DELETE,
			    reason == EPH_NATLOG_REASON_EXPIRED && clean ? EPH_NATLOG_REASON_TCP_CLOSED
									 : reason);
	session_gauge(nw, s, -1);
	if (s->flags & SESS_INBOUND)
		nw->inbound--;
	if (unlikely(s->flags & SESS_FTP))
		eph_ftp_close(nw->ftp, idx);
	release_session_port(w, s, clean);
	host_put(nw, &nw->host[s->host]);
	eph_session_delete(t, idx);
}

static void
session_expired(struct eph_session_table *t, uint32_t idx, void *arg)
{
	struct eph_worker *w = arg;

	session_end(w, t, idx, EPH_NATLOG_REASON_EXPIRED);
	w->nat.ctr[EPH_NAT_sessions_expired]++;
}

void
eph_nat_timers(struct eph_worker *w, uint64_t now_tsc)
{
	const struct eph_nat *nat = &w->dp->nat;
	const struct eph_nat_cfg *cfg;
	struct eph_nat_worker *nw = &w->nat;
	bool new_tick = now_tsc - nw->tick_start_tsc >= nat->tick_tsc; /* or the clock went back */
	bool pending;

	/* Fragments live milliseconds: their clock is the TSC itself, not the tick. */
	frag_timers(w, now_tsc);
	/* The worker calls every loop: nothing to do within a tick once expiry caught up. */
	if (likely(!new_tick && !nw->timers_pending))
		return;
	if (new_tick) {
		/* 16 divisions a second, no longer one per loop. */
		uint64_t ticks = (now_tsc - nat->start_tsc) / nat->tick_tsc;

		nw->now = (uint32_t)ticks;
		nw->tick_start_tsc = nat->start_tsc + ticks * nat->tick_tsc;
	}
	cfg = &w->cfg->nat;
	eph_session_expire(nw->sessions, nw->now, EXPIRE_BUDGET, session_expired, w);
	pending = eph_session_expire_pending(nw->sessions, nw->now);
	/* Forget destinations whose last ports have rested. */
	for (unsigned int p = 0; p < cfg->n_slots; p++)
		for (unsigned int g = 0; g < EPH_PA_GENS; g++)
			if ((cfg->pools[p].gens & (1u << g)) && !cfg->pools[p].g[g].blocks &&
			    eph_portalloc_expire(nw->alloc[p][g], nw->now, EXPIRE_BUDGET) ==
				    EXPIRE_BUDGET)
				pending = true;
	nw->timers_pending = pending || frag_due(nw->frag, now_tsc);
	if ((int32_t)(nw->now - nw->top_next) >= 0) {
		top_refresh(w);
		nw->top_next = nw->now + EPH_NAT_TICK_HZ;
	}
}

/* ---- control requests ------------------------------------------------ */

static bool
prefix_match(uint32_t addr, uint32_t want, uint32_t mask)
{
	return ((addr ^ want) & mask) == 0;
}

static bool
filter_match(const struct eph_session_filter *f, const struct eph_session *s)
{
	if (f->proto != 0 && s->proto != f->proto)
		return false;
	if (f->pool >= 0 && s->pool != f->pool)
		return false;
	if (f->port != 0 && s->in_port != f->port && s->out_port != f->port &&
	    s->remote_port != f->port)
		return false;
	return prefix_match(s->in_addr, f->in_addr, f->in_mask) &&
	       prefix_match(s->out_addr, f->out_addr, f->out_mask) &&
	       prefix_match(s->remote_addr, f->remote_addr, f->remote_mask);
}

void
eph_nat_ctl_poll(struct eph_worker *w)
{
	struct eph_nat_worker *nw = &w->nat;
	struct eph_session_table *t = nw->sessions;
	struct eph_nat_ctl *c = nw->ctl_cur;
	uint32_t end;

	if (c == NULL) {
		if (rte_ring_sc_dequeue(nw->ctl, (void **)&c) != 0)
			return;
		nw->ctl_cur = c;
	}
	end = RTE_MIN(c->cursor + CTL_BUDGET, t->max);
	for (uint32_t idx = c->cursor; idx < end; idx++) {
		struct eph_session *s;

		if (!eph_session_in_use(t, idx))
			continue;
		s = eph_session_get(t, idx);
		if ((s->flags & SESS_LOAN) || !filter_match(&c->filter, s))
			continue; /* a loan record is the borrower's session, seen there */
		c->matched++;
		if (c->op == EPH_NAT_CTL_CLEAR) {
			session_end(w, t, idx, EPH_NATLOG_REASON_CLEARED);
			c->cleared++;
		} else if (c->n_out < c->max_out) {
			c->out[c->n_out++] = (struct eph_session_info){
				.in_addr = s->in_addr, .out_addr = s->out_addr,
				.remote_addr = s->remote_addr, .in_port = s->in_port,
				.out_port = s->out_port, .remote_port = s->remote_port,
				.proto = s->proto, .state = s->state, .pool = s->pool,
				.created = s->created, .expire = s->expire,
				.pkts_out = s->pkts_out, .pkts_in = s->pkts_in,
			};
		}
	}
	c->cursor = end;
	if (end == t->max) {
		c->now = nw->now;
		nw->ctl_cur = NULL;
		__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	}
}

/*
 * The pool of an ICMP error from inside: NAT translates it by the session
 * it quotes, so it is the pool of the quoted packet's destination (the
 * inside host), whoever sent the error, the host or a router towards it.
 * src_pool: the sender's own (slot + 1, 0: none). Returns the pool slot +
 * 1, 0 to route the error as it is (no NAT'd address in it: not the
 * sender, nor either end of the quote), or -1 once it is dropped: it would
 * take an inside address out untranslated.
 */
static __rte_noinline int
inside_error_pool(struct eph_worker *w, struct rte_mbuf *m, uint64_t src_pool)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	uint16_t len = rte_be_to_cpu_16(ip->total_length);
	const struct rte_ipv4_hdr *inner =
		(const struct rte_ipv4_hdr *)((const uint8_t *)(ip + 1) + sizeof(struct rte_icmp_hdr));
	const uint8_t *quote_end = (const uint8_t *)ip + len;
	struct eph_icmp_quote q;
	unsigned int quoted_pool = 0, quoted_src_pool = 0;

	if (quote_end >= (const uint8_t *)&inner->dst_addr)
		quoted_src_pool = eph_nat_pool_of(&w->cfg->nat, rte_be_to_cpu_32(inner->src_addr));
	if (quote_end >= (const uint8_t *)(inner + 1))
		quoted_pool = eph_nat_pool_of(&w->cfg->nat, rte_be_to_cpu_32(inner->dst_addr));
	if (quoted_pool != 0 && eph_icmp_error_quote(ip, len, &q))
		return (int)quoted_pool;
	/* Routed as it is only when no NAT'd inside address is in it, anywhere. */
	if (quoted_pool == 0 && quoted_src_pool == 0 && src_pool == 0)
		return 0;
	drop(w, m, EPH_DROP_nat_icmp_untranslatable);
	return -1;
}

/* An ICMP error's first bytes (a later fragment's are payload, whatever they look like). */
static inline bool
is_icmp_error(const struct rte_ipv4_hdr *ip)
{
	return ip->next_proto_id == IPPROTO_ICMP &&
	       !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) &&
	       rte_be_to_cpu_16(ip->total_length) > IPV4_HDR_LEN &&
	       eph_icmp_is_error(((const struct rte_icmp_hdr *)(ip + 1))->icmp_type);
}

/*
 * The forward hook: routed packets crossing between an inside and an
 * outside port. One lookup of their inside addresses in the pools'
 * prefixes; those not NAT'd are left to the core to send as they are,
 * the rest translated inside -> outside as a batch (outside -> inside, a
 * NAT'd host is reachable only through its sessions: dropped).
 */
static uint16_t
nat_forward(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, uint32_t *nh_idx,
	    struct eph_session_ahead *ahead, uint16_t n)
{
	const struct eph_nat_cfg *cfg = &w->cfg->nat;
	bool outbound = w->dp->ports[in_port].role == EPH_ROLE_INSIDE;
	uint32_t addr[EPH_MAX_BURST];
	uint64_t pool[EPH_MAX_BURST];
	struct rte_mbuf *left[EPH_MAX_BURST];
	uint32_t left_nh[EPH_MAX_BURST];
	uint16_t slot[EPH_MAX_BURST];
	uint16_t n_tr = 0, n_left = 0;

	if (cfg->n_active == 0)
		return n;
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip = eph_pkt_ip(pkts[i]);

		addr[i] = rte_be_to_cpu_32(outbound ? ip->src_addr : ip->dst_addr);
	}
	rte_fib_lookup_bulk(cfg->inside, addr, pool, n);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (outbound && unlikely(is_icmp_error(eph_pkt_ip(m)))) {
			int p = inside_error_pool(w, m, pool[i]);

			if (p < 0)
				continue;
			pool[i] = (uint64_t)p;
		}
		if (pool[i] == 0) {
			left[n_left] = m;
			left_nh[n_left++] = nh_idx[i];
		} else if (!outbound) {
			drop(w, m, EPH_DROP_nat_no_session);
		} else {
			/* The common case compacts in place. */
			pkts[n_tr] = m;
			nh_idx[n_tr] = nh_idx[i];
			ahead[n_tr] = ahead[i];
			slot[n_tr++] = (uint16_t)(pool[i] - 1);
		}
	}
	if (n_tr != 0)
		eph_nat_in2out_burst(w, in_port, pkts, slot, nh_idx, ahead, n_tr);
	for (uint16_t i = 0; i < n_left; i++) {
		pkts[i] = left[i];
		nh_idx[i] = left_nh[i];
	}
	return n_left;
}

void
eph_nat_balancer_register(const struct eph_nat_balancer_ops *ops)
{
	balancer = *ops;
}

/*
 * EPH_NH_POOL: packets to a pool address, translated outside -> inside;
 * those to a balancer pool's address (replies from backends) to the
 * balancer.
 */
static void
pool_input(struct eph_worker *w, uint16_t in_port, struct rte_mbuf **pkts, const uint32_t *nh_idx,
	   const struct eph_session_ahead *ahead, uint16_t n)
{
	const struct eph_nexthop *nh = w->cfg->routes->nh;
	uint16_t slot[EPH_MAX_BURST];
	struct eph_session_ahead nat_ahead[EPH_MAX_BURST];
	struct rte_mbuf *lb[EPH_MAX_BURST];
	struct eph_session_ahead lb_ahead[EPH_MAX_BURST];
	uint16_t lb_slot[EPH_MAX_BURST];
	struct rte_mbuf *hp[EPH_MAX_BURST];
	struct eph_session_ahead hp_ahead[EPH_MAX_BURST];
	uint16_t hp_slot[EPH_MAX_BURST];
	uint16_t n_nat = 0, n_lb = 0, n_hp = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint16_t s = nh[nh_idx[i]].port; /* a pool next hop's port is its pool's slot */

		if (unlikely(pool_cfg(w, s)->balancer) && balancer.reply_input != NULL) {
			lb[n_lb] = pkts[i];
			lb_ahead[n_lb] = ahead[i];
			lb_slot[n_lb++] = s;
			continue;
		}
		if (unlikely(w->dp->ports[in_port].role == EPH_ROLE_INSIDE)) {
			hp[n_hp] = pkts[i];
			hp_ahead[n_hp] = ahead[i];
			hp_slot[n_hp++] = s;
			continue;
		}
		pkts[n_nat] = pkts[i];
		nat_ahead[n_nat] = ahead[i];
		slot[n_nat++] = s;
	}
	if (n_lb != 0)
		balancer.reply_input(w, in_port, lb, lb_slot, lb_ahead, n_lb);
	if (n_nat != 0)
		eph_nat_out2in_burst(w, in_port, pkts, slot, nat_ahead, n_nat);
	if (n_hp != 0)
		hairpin_input(w, in_port, hp, hp_slot, hp_ahead, n_hp);
}

/* Once per worker loop: handoff rings, the session clock, control requests. */
static void
nat_poll(struct eph_worker *w, uint64_t now_tsc)
{
	if (!w->dp->nat.enabled)
		return;
	if (w->dp->n_workers > 1)
		eph_nat_handoff_drain(w);
	eph_nat_timers(w, now_tsc);
	if (unlikely(w->nat.ctl_cur != NULL || !rte_ring_empty(w->nat.ctl)))
		eph_nat_ctl_poll(w);
}

/* Replies to a balancer pool's addresses are looked up in the balancer's table. */
static const struct eph_session_table *
pool_flows(const struct eph_worker *w, const struct eph_nexthop *nh)
{
	if (unlikely(pool_cfg(w, nh->port)->balancer) && balancer.flows != NULL)
		return balancer.flows(w);
	return w->nat.sessions;
}

void
eph_nat_register(void)
{
	static const struct eph_nh_ops pool_ops = {
		.name = "pool",
		.input = pool_input,
		.flows = pool_flows,
	};

	(void)eph_nh_register(EPH_NH_POOL, &pool_ops);
	(void)eph_output_hook_register(nat_forward);
	(void)eph_worker_poll_register(nat_poll);
}
