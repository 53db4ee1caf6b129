/* SPDX-License-Identifier: BSD-3-Clause */
/* ARP and neighbour resolution on the control lcore (see arp.h). */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ring.h>

#include "control/arp.h"

#define ETH_HDR_LEN ((uint16_t)sizeof(struct rte_ether_hdr))

void
eph_arp_init(struct eph_arp *arp, struct eph_dp *dp, const struct eph_conf_arp *conf,
	     uint64_t hz)
{
	memset(arp, 0, sizeof(*arp));
	arp->dp = dp;
	arp->reachable_tsc = conf->reachable_s * hz;
	arp->retry_tsc = conf->retry_ms * hz / 1000;
	arp->retries = conf->retries;
}

void
eph_control_tx(struct eph_dp *dp, uint16_t port, struct rte_mbuf *m)
{
	m->port = port;
	/* Worker 0 sends for the control lcore: every worker has a queue on every port. */
	if (rte_ring_sp_enqueue(dp->workers[0]->from_control, m) != 0) {
		eph_count_drop(&dp->control_stats, EPH_DROP_tx_full);
		rte_pktmbuf_free(m);
		return;
	}
}

static void
drop(struct eph_dp *dp, struct rte_mbuf *m, enum eph_drop_reason why)
{
	eph_count_drop(&dp->control_stats, why);
	rte_pktmbuf_free(m);
}

/* Broadcast request, or a unicast probe to a known MAC. */
static void
send_request(struct eph_arp *arp, uint16_t port, uint32_t target, const struct rte_ether_addr *to)
{
	struct eph_dp *dp = arp->dp;
	const struct eph_port *p = &dp->ports[port];
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *ah;
	struct rte_mbuf *m;

	m = rte_pktmbuf_alloc(dp->pool);
	if (m == NULL) {
		eph_count_drop(&dp->control_stats, EPH_DROP_mbuf_alloc_failed);
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, ETH_HDR_LEN + sizeof(*ah));
	ah = (struct rte_arp_hdr *)(eth + 1);
	if (to != NULL)
		rte_ether_addr_copy(to, &eth->dst_addr);
	else
		memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);

	ah->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = sizeof(uint32_t);
	ah->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	rte_ether_addr_copy(&p->mac, &ah->arp_data.arp_sha);
	ah->arp_data.arp_sip = p->addr;
	memset(&ah->arp_data.arp_tha, 0, sizeof(ah->arp_data.arp_tha));
	ah->arp_data.arp_tip = target;

	arp->stats.requests_tx++;
	eph_control_tx(dp, port, m);
}

/* Send a packet that waited for n's MAC. */
static void
send_to_neighbour(struct eph_arp *arp, const struct eph_neigh *n, struct rte_mbuf *m)
{
	struct eph_dp *dp = arp->dp;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	rte_ether_addr_copy(&n->mac, &eth->dst_addr);
	rte_ether_addr_copy(&dp->ports[n->key.port].mac, &eth->src_addr);
	arp->stats.released++;
	eph_control_tx(dp, n->key.port, m);
}

/* Send the packets n was holding, now that its MAC is known. */
static void
release_held(struct eph_arp *arp, struct eph_neigh *n)
{
	for (unsigned int i = 0; i < n->n_held; i++)
		send_to_neighbour(arp, n, n->held[i]);
	n->n_held = 0;
}

static void
drop_held(struct eph_arp *arp, struct eph_neigh *n)
{
	for (unsigned int i = 0; i < n->n_held; i++)
		drop(arp->dp, n->held[i], EPH_DROP_neigh_unresolved);
	n->n_held = 0;
}

/* The neighbour answered (or spoke to us): it is reachable with this MAC. */
static void
confirm(struct eph_arp *arp, struct eph_neigh *n, const struct rte_ether_addr *mac, uint64_t now)
{
	if (n->valid && !rte_is_same_ether_addr(mac, &n->mac))
		arp->stats.mac_changes++;
	if (!n->valid)
		arp->stats.resolved++;
	n = eph_neigh_set_mac(&arp->dp->neigh, n, mac);
	n->state = EPH_NEIGH_REACHABLE;
	n->confirmed_tsc = now;
	n->requests = 0;
	release_held(arp, n);
}

static bool
on_subnet(const struct eph_port *p, uint32_t ip)
{
	return ((ip ^ p->addr) & p->mask) == 0;
}

/*
 * Pool addresses on an outside port's subnet are answered for, so the
 * outside needs no route to the pool (proxy ARP for our own addresses);
 * so are VIPs and the balancer's local addresses on any port's subnet
 * (clients reach the one, backends answer the other).
 */
static bool
owns_pool_address(const struct eph_dp *dp, const struct eph_port *p, uint32_t ip)
{
	const struct eph_nexthop *nh;

	if (!on_subnet(p, ip))
		return false;
	nh = eph_route_lookup(dp->cfg->routes, rte_be_to_cpu_32(ip));
	if (nh->type == EPH_NH_VIP)
		return true;
	if (nh->type != EPH_NH_POOL)
		return false;
	return p->role == EPH_ROLE_OUTSIDE || dp->cfg->nat.pools[nh->port].balancer;
}

static void
arp_input(struct eph_arp *arp, struct rte_mbuf *m, uint16_t in, uint64_t now)
{
	struct eph_dp *dp = arp->dp;
	const struct eph_port *p = &dp->ports[in];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eth + 1);
	struct rte_arp_ipv4 *a = &ah->arp_data;
	bool request = ah->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST);
	bool for_us = a->arp_tip == p->addr || owns_pool_address(dp, p, a->arp_tip);
	struct eph_neigh *n = NULL;
	uint32_t sip;

	if (request)
		arp->stats.requests_rx++;
	else
		arp->stats.replies_rx++;

	/* Learn from a sender on our subnet (not from RFC 5227 probes, whose sender is 0). */
	if (a->arp_sip != 0 && a->arp_sip != p->addr && on_subnet(p, a->arp_sip) &&
	    rte_is_unicast_ether_addr(&a->arp_sha)) {
		n = eph_neigh_find(&dp->neigh, in, a->arp_sip);
		/* Like Linux: someone asking for us will be talked to, so create it. */
		if (n == NULL && request && for_us)
			n = eph_neigh_create(&dp->neigh, in, a->arp_sip);
		if (n != NULL)
			confirm(arp, n, &a->arp_sha, now);
	}

	if (!request || !for_us) {
		if (n == NULL)
			eph_count_drop(&dp->control_stats, EPH_DROP_arp_ignored);
		rte_pktmbuf_free(m);
		return;
	}

	/* Turn the request into our reply in place. */
	ah->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&a->arp_sha, &a->arp_tha);
	sip = a->arp_tip; /* the address asked for: the port's or a pool address */
	a->arp_tip = a->arp_sip;
	rte_ether_addr_copy(&p->mac, &a->arp_sha);
	a->arp_sip = sip;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	arp->stats.replies_tx++;
	eph_control_tx(dp, in, m);
}

static void
resolve(struct eph_arp *arp, struct rte_mbuf *m, uint16_t out, uint32_t nexthop, uint64_t now)
{
	struct eph_dp *dp = arp->dp;
	struct eph_neigh *n = eph_neigh_find(&dp->neigh, out, nexthop);

	if (n == NULL) {
		n = eph_neigh_create(&dp->neigh, out, nexthop);
		if (n == NULL) {
			drop(dp, m, EPH_DROP_neigh_hold_full);
			return;
		}
		send_request(arp, out, nexthop, NULL);
		n->requests = 1;
		n->next_tsc = now + arp->retry_tsc;
	}
	if (n->valid) {
		/* Resolved while the packet was on its way to us. */
		send_to_neighbour(arp, n, m);
		return;
	}
	if (n->n_held >= dp->neigh.hold_max) {
		drop(dp, m, EPH_DROP_neigh_hold_full);
		return;
	}
	n->held[n->n_held++] = m;
	arp->stats.held++;
}

void
eph_arp_slow_input(struct eph_arp *arp, struct rte_mbuf *m, uint64_t now)
{
	const struct eph_pkt_meta *meta = eph_pkt_meta(arp->dp, m);

	switch (meta->kind) {
	case EPH_SLOW_ARP:
		arp_input(arp, m, meta->in_port, now);
		break;
	case EPH_SLOW_RESOLVE:
		resolve(arp, m, meta->out_port, meta->nexthop, now);
		break;
	default:
		rte_pktmbuf_free(m);
		break;
	}
}

void
eph_arp_timers(struct eph_arp *arp, uint64_t now)
{
	struct eph_neigh_table *t = &arp->dp->neigh;
	struct eph_neigh *n, *next;

	for (n = TAILQ_FIRST(&t->all); n != NULL; n = next) {
		next = TAILQ_NEXT(n, link);

		if (n->state == EPH_NEIGH_REACHABLE && now - n->confirmed_tsc > arp->reachable_tsc) {
			n->state = EPH_NEIGH_PROBE;
			n->requests = 0;
			n->next_tsc = now;
		}
		if (n->state == EPH_NEIGH_REACHABLE || now < n->next_tsc)
			continue;
		if (n->requests < arp->retries) {
			/* A probe goes to the MAC we know; a resolution is broadcast. */
			send_request(arp, n->key.port, n->key.ip,
				     n->state == EPH_NEIGH_PROBE ? &n->mac : NULL);
			n->requests++;
			n->next_tsc = now + arp->retry_tsc;
			continue;
		}
		drop_held(arp, n);
		arp->stats.expired++;
		eph_neigh_delete(t, n);
	}
}
