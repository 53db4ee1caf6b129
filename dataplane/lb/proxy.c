/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PROXY v2 header and the sequence shift it brings (see proxy.h). The
 * shift is two 32-bit rewrites patched into the TCP checksum (RFC 1624);
 * the segment that takes the header, rare, gets full checksums.
 */
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/cksum.h"
#include "dataplane/flow/flow.h"
#include "dataplane/lb/proxy.h"
#include "dataplane/nat/nat_icmp.h"

#define ETH_HDR_LEN  ((uint16_t)sizeof(struct rte_ether_hdr))
#define IPV4_HDR_LEN ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define TCP_HDR_LEN  ((uint16_t)sizeof(struct rte_tcp_hdr))
#define PP2_ADDR_LEN 12 /* IPv4: source, destination address, source, destination port */
#define TCPOPT_EOL   0
#define TCPOPT_NOP   1
#define TCPOPT_MSS   2
#define TCPOPT_SACK  5
#define MSS_FLOOR    64 /* an MSS the shift would take below this is left alone */

static const uint8_t pp2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

void
eph_pp2_header(uint8_t out[EPH_PP2_LEN], uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint16_t len = RTE_BE16(PP2_ADDR_LEN);

	memcpy(out, pp2_signature, sizeof(pp2_signature));
	out[12] = 0x21; /* version 2, command PROXY */
	out[13] = 0x11; /* AF_INET, STREAM */
	memcpy(out + 14, &len, 2);
	memcpy(out + 16, &src, 4);
	memcpy(out + 20, &dst, 4);
	memcpy(out + 24, &sport, 2);
	memcpy(out + 26, &dport, 2);
}

/* A backend's number (host order) in the client's space: one inside the header is ISN+1. */
static inline uint32_t
to_client(uint32_t isn, uint32_t n)
{
	return n - (isn + 1) <= EPH_PP2_LEN ? isn + 1 : n - EPH_PP2_LEN;
}

static inline uint32_t
to_backend(uint32_t isn, uint8_t flags, uint32_t n)
{
	/* ISN+1 is where the header starts until the backend has it, then where the data does. */
	if (n == isn + 1 && !(flags & EPH_LB_CONN_PROXY_ACKED))
		return n;
	return n + EPH_PP2_LEN;
}

uint32_t
eph_lb_proxy_seq_to_backend(const struct eph_lb_worker *lw, const struct eph_session *s,
			    uint32_t idx, uint32_t seq)
{
	return to_backend(lw->ext[idx].client_isn, s->flags, seq);
}

/* The backend's number at p (offset parity odd) into the client's space, checksum patched. */
static inline void
field_to_client(struct rte_tcp_hdr *tcp, uint8_t *p, bool odd, uint32_t isn)
{
	uint32_t old, new;

	memcpy(&old, p, sizeof(old));
	new = rte_cpu_to_be_32(to_client(isn, rte_be_to_cpu_32(old)));
	if (new == old)
		return;
	memcpy(p, &new, sizeof(new));
	tcp->cksum = eph_cksum_update32_at(tcp->cksum, old, new, odd);
}

/*
 * The header in front of the payload of the client's segment m: headers
 * moved 28 bytes into the headroom, the header written after them, the
 * lengths and full checksums set (before the connection's rewrite, which
 * patches them as usual).
 */
static bool
header_insert(struct eph_lb_worker *lw, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	uint16_t thl = (uint16_t)((tcp->data_off >> 4) * 4);
	uint16_t hdrs = (uint16_t)(ETH_HDR_LEN + IPV4_HDR_LEN + thl);
	uint8_t *from, *to;

	if (thl < TCP_HDR_LEN || IPV4_HDR_LEN + thl > tot || tot > UINT16_MAX - EPH_PP2_LEN ||
	    m->nb_segs != 1 || !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
	    rte_pktmbuf_headroom(m) < EPH_PP2_LEN || m->data_len < ETH_HDR_LEN + tot)
		return false;
	/* Ethernet padding after the datagram (a short pure ACK has some) is not carried on. */
	if (m->data_len > ETH_HDR_LEN + tot)
		(void)rte_pktmbuf_trim(m, (uint16_t)(m->data_len - ETH_HDR_LEN - tot));
	from = rte_pktmbuf_mtod(m, uint8_t *);
	to = (uint8_t *)rte_pktmbuf_prepend(m, EPH_PP2_LEN);
	memmove(to, from, hdrs);
	ip = eph_pkt_ip(m);
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	eph_pp2_header(to + hdrs, ip->src_addr, tcp->src_port, ip->dst_addr, tcp->dst_port);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(tot + EPH_PP2_LEN));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	lw->ctr[EPH_LB_proxy_headers]++;
	return true;
}

bool
eph_lb_proxy_to_backend(struct eph_lb_worker *lw, struct eph_session *s, uint32_t idx,
			struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	struct eph_lb_conn_ext *e;
	uint8_t flags = tcp->tcp_flags;
	uint32_t seq, new;

	/* Once the backend has the header, every segment but a SYN moves by 28: no ISN to read. */
	if (likely((s->flags & EPH_LB_CONN_PROXY_ACKED) && !(flags & RTE_TCP_SYN_FLAG))) {
		new = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->sent_seq) + EPH_PP2_LEN);
		tcp->cksum = eph_cksum_update32(tcp->cksum, tcp->sent_seq, new);
		tcp->sent_seq = new;
		return true;
	}
	e = &lw->ext[idx];
	seq = rte_be_to_cpu_32(tcp->sent_seq);
	if (unlikely(flags & RTE_TCP_SYN_FLAG)) {
		uint16_t thl = (uint16_t)((tcp->data_off >> 4) * 4);

		if (flags & RTE_TCP_ACK_FLAG)
			return true; /* not the client's to send: left as it is */
		/* An opening the tracker took (not one ignored mid-connection): a new ISN. */
		if (s->state == EPH_TCP_SYN_SENT) {
			e->client_isn = seq;
			s->flags = (uint8_t)(s->flags & ~EPH_LB_CONN_PROXY_ACKED);
		}
		/* Data on the SYN (TCP Fast Open) starts at ISN+1: behind the header. */
		if (seq != e->client_isn || eph_l4_len(ip) <= thl)
			return true;
		return header_insert(lw, m);
	}
	if (!(flags & RTE_TCP_RST_FLAG) && seq == e->client_isn + 1 &&
	    !(s->flags & EPH_LB_CONN_PROXY_ACKED))
		return header_insert(lw, m);
	new = rte_cpu_to_be_32(to_backend(e->client_isn, s->flags, seq));
	tcp->cksum = eph_cksum_update32(tcp->cksum, tcp->sent_seq, new);
	tcp->sent_seq = new;
	return true;
}

/*
 * The backend's TCP options: SACK edges to the client's space (the ISN
 * read only then), the SYN-ACK's MSS lowered.
 */
static void
options_to_client(struct eph_lb_worker *lw, struct rte_tcp_hdr *tcp, uint16_t thl, uint32_t idx)
{
	uint8_t *opt = (uint8_t *)(tcp + 1);
	uint16_t n = (uint16_t)(thl - TCP_HDR_LEN);
	bool syn = (tcp->tcp_flags & RTE_TCP_SYN_FLAG) != 0;

	for (uint16_t i = 0; i < n;) {
		bool odd = (i & 1) != 0; /* options start at offset 20: parity of i */

		if (opt[i] == TCPOPT_EOL)
			return;
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || opt[i + 1] < 2 || i + opt[i + 1] > n) {
			lw->ctr[EPH_LB_proxy_bad_options]++;
			return;
		}
		if (opt[i] == TCPOPT_SACK && !syn) {
			if ((opt[i + 1] - 2) % 8 != 0) {
				lw->ctr[EPH_LB_proxy_bad_options]++;
				return;
			}
			for (uint16_t k = (uint16_t)(i + 2); k < i + opt[i + 1]; k += 4)
				field_to_client(tcp, &opt[k], odd, lw->ext[idx].client_isn);
		} else if (opt[i] == TCPOPT_MSS && syn) {
			uint16_t old, new;

			if (opt[i + 1] != 4) {
				lw->ctr[EPH_LB_proxy_bad_options]++;
				return;
			}
			memcpy(&old, &opt[i + 2], sizeof(old));
			if (rte_be_to_cpu_16(old) >= MSS_FLOOR + EPH_PP2_LEN) {
				new = rte_cpu_to_be_16(
					(uint16_t)(rte_be_to_cpu_16(old) - EPH_PP2_LEN));
				memcpy(&opt[i + 2], &new, sizeof(new));
				tcp->cksum = odd ? eph_cksum_update16(tcp->cksum, rte_bswap16(old),
								      rte_bswap16(new))
						 : eph_cksum_update16(tcp->cksum, old, new);
				lw->ctr[EPH_LB_proxy_mss_lowered]++;
			}
		}
		i = (uint16_t)(i + opt[i + 1]);
	}
}

void
eph_lb_proxy_to_client(struct eph_lb_worker *lw, struct eph_session *s, uint32_t idx,
		       struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = eph_pkt_ip(m);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint16_t thl = (uint16_t)((tcp->data_off >> 4) * 4);

	if (likely(s->flags & EPH_LB_CONN_PROXY_ACKED) && (tcp->tcp_flags & RTE_TCP_ACK_FLAG)) {
		/*
		 * The backend has the header: its acks lie past it, minus 28 for
		 * the client. An old one reordered behind comes out below ISN+1,
		 * which the client takes for the old ack it is.
		 */
		uint32_t new = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->recv_ack) - EPH_PP2_LEN);

		tcp->cksum = eph_cksum_update32(tcp->cksum, tcp->recv_ack, new);
		tcp->recv_ack = new;
	} else if (tcp->tcp_flags & RTE_TCP_ACK_FLAG) {
		uint32_t isn = lw->ext[idx].client_isn;
		uint32_t past = rte_be_to_cpu_32(tcp->recv_ack) - (isn + 1);

		/* Acknowledged past the header: from now on ISN+1 is where the data starts. */
		if (past >= EPH_PP2_LEN && past <= INT32_MAX)
			s->flags |= EPH_LB_CONN_PROXY_ACKED;
		field_to_client(tcp, (uint8_t *)tcp + offsetof(struct rte_tcp_hdr, recv_ack), false,
				isn);
	}
	if (thl > TCP_HDR_LEN) {
		if (thl > eph_l4_len(ip))
			lw->ctr[EPH_LB_proxy_bad_options]++;
		else
			options_to_client(lw, tcp, thl, idx);
	}
}

void
eph_lb_proxy_quote(const struct eph_lb_worker *lw, const struct eph_session *s, uint32_t idx,
		   struct eph_icmp_quote *q, bool from_client)
{
	uint32_t isn = lw->ext[idx].client_isn;
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)q->l4;
	uint16_t ck_end = offsetof(struct rte_tcp_hdr, cksum) + 2;
	uint8_t *field;
	uint32_t old, new;

	/* The backend's segment quoted by the client: its ack, in the client's space. */
	if (from_client) {
		if (q->l4_len < offsetof(struct rte_tcp_hdr, data_off))
			return;
		field = q->l4 + offsetof(struct rte_tcp_hdr, recv_ack);
		memcpy(&old, field, sizeof(old));
		new = rte_cpu_to_be_32(to_backend(isn, s->flags, rte_be_to_cpu_32(old)));
	} else {
		if (q->l4_len < offsetof(struct rte_tcp_hdr, recv_ack))
			return;
		field = q->l4 + offsetof(struct rte_tcp_hdr, sent_seq);
		memcpy(&old, field, sizeof(old));
		new = rte_cpu_to_be_32(to_client(isn, rte_be_to_cpu_32(old)));
	}
	memcpy(field, &new, sizeof(new));
	if (q->l4_len >= ck_end)
		tcp->cksum = eph_cksum_update32(tcp->cksum, old, new);
}
