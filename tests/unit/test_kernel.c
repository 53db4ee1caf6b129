/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path with the real kernel: the inside port gets a kernel
 * interface (a net_tap device, in a network namespace of this program's
 * own), packets to the port's address that the data plane does not serve
 * go through it to real sockets, and what the kernel answers comes back
 * through the data plane's routes and neighbours onto the port. Checked:
 * what the socket received and from whom, the kernel's SYN-ACK byte by
 * byte (addresses, ports, sequence, TTL, checksums), counters, the rate
 * limit, and that echo requests stay the data plane's.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "tests/unit/harness.h"

#define IN        0
#define KERNEL_IF "eph-ut-k0"

static struct eph_worker *w;

static void
with_kernel_if(struct eph_conf *conf)
{
	snprintf(conf->ports[IN].kernel_if, sizeof(conf->ports[IN].kernel_if), "%s", KERNEL_IF);
	conf->ports[IN].mtu = 9000; /* a jumbo port: its kernel interface takes what the tap PMD can */
}

static int
setup(void **state)
{
	(void)state;
	/* A namespace of our own: the interface and its routes stay out of the host's. */
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "test_kernel: unshare(CLONE_NEWNET): %s (needs root)\n",
			strerror(errno));
		return -1;
	}
	t_start_with("unit-kernel", with_kernel_if);
	w = t_dp.workers[0];
	t_neigh_add(IN, T_HOST, &t_host_mac);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	t_stop();
	return 0;
}

static int
per_test_reset(void **state)
{
	(void)state;
	t_drain();
	t_dp.kernel_rate = 0;
	return 0;
}

/* Run the worker's polls (which read the kernel interface) until port p sent something, or 2 s. */
static struct rte_mbuf *
await_sent(uint16_t p)
{
	struct rte_mbuf *m = NULL;
	uint64_t end = rte_get_tsc_cycles() + rte_get_tsc_hz() * 2;

	while (rte_get_tsc_cycles() < end) {
		eph_worker_polls_run(w, rte_get_tsc_cycles());
		if (t_sent(p, &m, 1) == 1)
			return m;
		usleep(1000);
	}
	return NULL;
}

static int
bound_socket(int type, uint16_t port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(T_IN_ADDR),
	};
	int one = 1, fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static uint64_t
port_to_kernel(void)
{
	return w->stats.port[IN].to_kernel;
}

/*
 * The interface exists with the port's address, and ARP off (the data plane
 * answers ARP); on the jumbo port, at the tap PMD's largest MTU.
 */
static void
test_interface_configured(void **state)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	(void)state;
	assert_true(t_dp.ports[IN].has_kernel);
	assert_int_not_equal(if_nametoindex(KERNEL_IF), 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", KERNEL_IF);
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, SIOCGIFMTU, &ifr), 0);
	close(fd);
	assert_int_equal(ifr.ifr_mtu, 1500);
	assert_int_equal(t_dp.ports[IN].mtu, 9000);
	assert_string_equal(t_dp.ports[IN].kernel_if, KERNEL_IF);
	assert_int_equal(t_dp.n_kernel, 1);
}

/* A UDP datagram to the port's address reaches a real socket, from the sender's address and port. */
static void
test_udp_to_socket(void **state)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	char buf[64];
	uint64_t before = port_to_kernel();
	int fd = bound_socket(SOCK_DGRAM, 5353);
	struct rte_mbuf *m;
	ssize_t n;

	(void)state;
	m = t_l4_packet(IN, &t_host_mac, T_HOST, T_IN_ADDR, IPPROTO_UDP, 40000, 5353, 0, 0, 0);
	eph_input_burst(w, IN, &m, 1);
	assert_int_equal(port_to_kernel(), before + 1);

	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	assert_int_equal(n, 10); /* t_l4_packet's payload */
	assert_int_equal(ntohl(from.sin_addr.s_addr), T_HOST);
	assert_int_equal(ntohs(from.sin_port), 40000);

	/* The answer leaves through the data plane, to the host's MAC, TTL untouched. */
	assert_int_equal(sendto(fd, "pong", 4, 0, (struct sockaddr *)&from, flen), 4);
	m = await_sent(IN);
	assert_non_null(m);
	t_assert_checksums(m);
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr,
					   &t_host_mac));
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), T_IN_ADDR);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), T_HOST);
	assert_int_equal(t_ip(m)->time_to_live, 64);
	assert_int_equal(t_l4_port(m, 0), 5353);
	assert_int_equal(t_l4_port(m, 2), 40000);
	assert_memory_equal(rte_pktmbuf_mtod_offset(m, char *, sizeof(struct rte_ether_hdr) +
							       sizeof(struct rte_ipv4_hdr) +
							       sizeof(struct rte_udp_hdr)),
			    "pong", 4);
	assert_true(w->stats.port[IN].from_kernel >= 1);
	rte_pktmbuf_free(m);
	close(fd);
}

/* A SYN to a listening socket: the kernel's SYN-ACK, byte by byte. */
static void
test_tcp_syn_ack(void **state)
{
	int fd = bound_socket(SOCK_STREAM, 2222);
	const struct rte_tcp_hdr *tcp;
	struct rte_mbuf *m;

	(void)state;
	assert_int_equal(listen(fd, 4), 0);
	m = t_l4_packet(IN, &t_host_mac, T_HOST, T_IN_ADDR, IPPROTO_TCP, 41000, 2222,
			RTE_TCP_SYN_FLAG, 1000, 0);
	eph_input_burst(w, IN, &m, 1);
	m = await_sent(IN);
	assert_non_null(m);
	t_assert_checksums(m);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->src_addr), T_IN_ADDR);
	assert_int_equal(rte_be_to_cpu_32(t_ip(m)->dst_addr), T_HOST);
	assert_int_equal(t_ip(m)->time_to_live, 64);
	tcp = (const struct rte_tcp_hdr *)(t_ip(m) + 1);
	assert_int_equal(rte_be_to_cpu_16(tcp->src_port), 2222);
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), 41000);
	assert_int_equal(tcp->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG),
			 RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->recv_ack), 1001);
	rte_pktmbuf_free(m);
	close(fd);
}

/* Echo requests to the port's address are still answered by the data plane itself. */
static void
test_echo_stays_in_data_plane(void **state)
{
	uint64_t before = port_to_kernel(), replies = w->stats.echo_replies;
	struct rte_mbuf *m = t_ipv4_packet(&t_host_mac, IN, T_HOST, T_IN_ADDR, IPPROTO_ICMP, 64,
					   sizeof(struct rte_icmp_hdr));
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(t_ip(m) + 1);

	(void)state;
	memset(icmp, 0, sizeof(*icmp));
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp));
	eph_input_burst(w, IN, &m, 1);
	assert_int_equal(w->stats.echo_replies, replies + 1);
	assert_int_equal(port_to_kernel(), before);
}

/* Over dataplane.kernel-rate, packets are dropped and counted, not written. */
static void
test_rate_limited(void **state)
{
	uint64_t before = port_to_kernel(), limited = t_drops(EPH_DROP_kernel_rate_limited);
	int fd = bound_socket(SOCK_DGRAM, 5354);

	(void)state;
	t_dp.kernel_rate = 10; /* bursts of one */
	w->kernel_tat = 0;
	for (int i = 0; i < 20; i++) {
		struct rte_mbuf *m = t_l4_packet(IN, &t_host_mac, T_HOST, T_IN_ADDR, IPPROTO_UDP,
						 (uint16_t)(42000 + i), 5354, 0, 0, 0);

		eph_input_burst(w, IN, &m, 1);
	}
	/* A burst of one token: the first; the rest within microseconds refused. */
	assert_int_equal(port_to_kernel() - before, 1);
	assert_int_equal(t_drops(EPH_DROP_kernel_rate_limited) - limited, 19);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_interface_configured, per_test_reset),
		cmocka_unit_test_setup(test_udp_to_socket, per_test_reset),
		cmocka_unit_test_setup(test_tcp_syn_ack, per_test_reset),
		cmocka_unit_test_setup(test_echo_stays_in_data_plane, per_test_reset),
		cmocka_unit_test_setup(test_rate_limited, per_test_reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
