/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up of the data plane (see startup.h). Errors a user can fix are
 * reported as one line that says what to do; everything allocated here is
 * released by eph_dp_teardown, also after a partial setup.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "control/kernel_if.h"
#include "control/lb_setup.h"
#include "control/reconfig.h"
#include "control/startup.h"
#include "control/log.h"

RTE_LOG_REGISTER(eph_logtype, user.ephemera, NOTICE);

#define TO_CONTROL_RING_SIZE   4096
#define FROM_CONTROL_RING_SIZE 1024
#define MEMPOOL_CACHE          256
#define AF_PACKET_RX_MBUFS     256 /* per queue, of a port with framesz=N (af_packet_rx_pool) */
#define AF_PACKET_RX_CACHE     32
#define INDIRECT_MBUFS         8191 /* 2^n - 1: egress fragments' payload references */
#define ETH_OVERHEAD           (RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 2 * 4 /* VLAN tags */)

/* ---- lcores ---------------------------------------------------------- */

/* One "n", "a-b" or "(list)" of the EAL --lcores syntax into set; returns chars read or -1. */
static int
parse_cpu_group(const char *s, cpu_set_t *set)
{
	const char *p = s;
	bool paren = *p == '(';

	if (paren)
		p++;
	for (;;) {
		char *end;
		long a, b;

		if (!isdigit((unsigned char)*p))
			return -1;
		a = strtol(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			b = strtol(p, &end, 10);
			p = end;
		}
		if (a > b || b >= CPU_SETSIZE)
			return -1;
		for (long i = a; i <= b; i++)
			CPU_SET(i, set);
		if (!paren || *p != ',')
			break;
		p++;
	}
	if (paren) {
		if (*p != ')')
			return -1;
		p++;
	}
	return (int)(p - s);
}

/*
 * Expand --lcores into the set of lcore ids and the set of CPUs they run on.
 * Without "@cpus" an lcore runs on the CPU of the same number.
 */
static int
parse_lcores(const char *s, cpu_set_t *lcores, cpu_set_t *cpus)
{
	CPU_ZERO(lcores);
	CPU_ZERO(cpus);
	while (*s != '\0') {
		cpu_set_t ids, on;
		int n;

		CPU_ZERO(&ids);
		CPU_ZERO(&on);
		n = parse_cpu_group(s, &ids);
		if (n < 0)
			return -1;
		s += n;
		if (*s == '@') {
			s++;
			n = parse_cpu_group(s, &on);
			if (n < 0)
				return -1;
			s += n;
		} else {
			CPU_OR(&on, &on, &ids);
		}
		CPU_OR(lcores, lcores, &ids);
		CPU_OR(cpus, cpus, &on);
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return 0;
}

static void
format_cpu_set(const cpu_set_t *set, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < CPU_SETSIZE && off < len; i++) {
		int j = i;

		if (!CPU_ISSET(i, set))
			continue;
		while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, set))
			j++;
		off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "", i);
		if (j > i && off < len)
			off += (size_t)snprintf(buf + off, len - off, "-%d", j);
		i = j;
	}
}

static int
check_lcores(const struct eph_conf *conf, FILE *err)
{
	cpu_set_t lcores, cpus, allowed, missing;
	char have[128], lack[128];

	if (parse_lcores(conf->eal.lcores, &lcores, &cpus) != 0) {
		fprintf(err, "ephemera: error: eal.lcores \"%s\" is not in EAL --lcores syntax "
			     "(e.g. \"0-1\" or \"0@0,1@1,2@1\")\n", conf->eal.lcores);
		return -1;
	}
	if (CPU_COUNT(&lcores) < 2) {
		fprintf(err, "ephemera: error: eal.lcores \"%s\" names %d lcore; at least 2 are "
			     "needed (one control, one or more workers), e.g. \"0-1\" or \"0@0,1@0\"\n",
			conf->eal.lcores, CPU_COUNT(&lcores));
		return -1;
	}
	if (conf->eal.main_lcore >= 0 && !CPU_ISSET(conf->eal.main_lcore, &lcores)) {
		fprintf(err, "ephemera: error: eal.main-lcore %d is not one of eal.lcores \"%s\"\n",
			conf->eal.main_lcore, conf->eal.lcores);
		return -1;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return 0; /* cannot tell; let EAL decide */
	CPU_XOR(&missing, &cpus, &allowed);
	CPU_AND(&missing, &missing, &cpus);
	if (CPU_COUNT(&missing) > 0) {
		format_cpu_set(&missing, lack, sizeof(lack));
		format_cpu_set(&allowed, have, sizeof(have));
		fprintf(err, "ephemera: error: eal.lcores \"%s\" needs CPU %s, but this process may "
			     "only run on CPU %s; map lcores onto those, e.g. \"0@0,1@1,2@1\"\n",
			conf->eal.lcores, lack, have);
		return -1;
	}
	return 0;
}

/* ---- hugepages and permissions --------------------------------------- */

static bool
hugetlbfs_mount(char *path, size_t len)
{
	char dev[256], dir[256], type[64];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (f == NULL)
		return false;
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "hugetlbfs") == 0) {
			snprintf(path, len, "%s", dir);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

/* Free hugepage memory in MiB, over every page size. */
static unsigned long
hugepages_free_mb(void)
{
	static const struct {
		const char *dir;
		unsigned long mb;
	} sizes[] = {
		{ "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", 2 },
		{ "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", 1024 },
	};
	unsigned long total = 0;

	for (size_t i = 0; i < RTE_DIM(sizes); i++) {
		FILE *f = fopen(sizes[i].dir, "r");
		unsigned long n;

		if (f == NULL)
			continue;
		if (fscanf(f, "%lu", &n) == 1)
			total += n * sizes[i].mb;
		fclose(f);
	}
	return total;
}

static int
check_hugepages(const struct eph_conf *conf, FILE *err)
{
	char mount[256];
	unsigned long free_mb;

	if (!conf->eal.hugepages)
		return 0;
	if (!hugetlbfs_mount(mount, sizeof(mount))) {
		fprintf(err, "ephemera: error: no hugetlbfs is mounted: run 'mkdir -p /dev/hugepages "
			     "&& mount -t hugetlbfs nodev /dev/hugepages' (or set eal.hugepages: false)\n");
		return -1;
	}
	if (access(mount, W_OK) != 0) {
		fprintf(err, "ephemera: error: no permission to use hugepages in %s: run as root "
			     "(or grant this user write access to %s)\n", mount, mount);
		return -1;
	}
	free_mb = hugepages_free_mb();
	if (free_mb == 0 || (conf->eal.memory_mb > 0 && free_mb < conf->eal.memory_mb)) {
		unsigned long want = conf->eal.memory_mb ? conf->eal.memory_mb : 512;

		fprintf(err, "ephemera: error: %lu MiB of hugepages free, %lu MiB needed: reserve "
			     "them with 'sysctl -w vm.nr_hugepages=%lu' (2 MiB pages) or set "
			     "eal.hugepages: false\n", free_mb, want, (want + 1) / 2);
		return -1;
	}
	return 0;
}

/* The value of key in a vdev argument string "net_x0,key=value,...", or false. */
static bool
devarg_value(const char *device, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key);
	const char *p = strchr(device, ',');

	while (p != NULL) {
		p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, ",");

			if (n >= len)
				n = len - 1;
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			return true;
		}
		p = strchr(p, ',');
	}
	return false;
}

static int
check_devices(const struct eph_conf *conf, FILE *err)
{
	for (unsigned int i = 0; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];
		char iface[IF_NAMESIZE + 1];
		int fd;

		if (strncmp(p->device, "net_af_packet", 13) != 0 &&
		    strncmp(p->device, "net_af_xdp", 10) != 0)
			continue;
		if (!devarg_value(p->device, "iface", iface, sizeof(iface))) {
			fprintf(err, "ephemera: error: port '%s': device \"%s\" has no iface=NAME "
				     "argument; add the Linux interface to attach to\n",
				p->name, p->device);
			return -1;
		}
		if (if_nametoindex(iface) == 0) {
			fprintf(err, "ephemera: error: port '%s': interface '%s' does not exist; "
				     "create it (./scripts/testbed.sh up for the test bed) or fix "
				     "the device of port '%s'\n", p->name, iface, p->name);
			return -1;
		}
		fd = socket(AF_PACKET, SOCK_RAW, 0);
		if (fd < 0 && (errno == EPERM || errno == EACCES)) {
			fprintf(err, "ephemera: error: port '%s': no permission to open a raw socket "
				     "on '%s': run as root (or with CAP_NET_RAW)\n", p->name, iface);
			return -1;
		}
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

int
eph_preflight(const struct eph_conf *conf, FILE *err)
{
	if (check_lcores(conf, err) != 0)
		return -1;
	if (check_hugepages(conf, err) != 0)
		return -1;
	return check_devices(conf, err);
}

/* ---- EAL arguments --------------------------------------------------- */

int
eph_eal_args(const struct eph_conf *conf, const char *argv0, char **argv, int max_argv,
	     char *buf, size_t buf_len)
{
	const struct eph_conf_eal *e = &conf->eal;
	size_t used = 0;
	int argc = 0;
	bool any_pci = false;

#define ADD(...)                                                                  \
	do {                                                                      \
		int n_ = snprintf(buf + used, buf_len - used, __VA_ARGS__);       \
		if (n_ < 0 || (size_t)n_ >= buf_len - used || argc >= max_argv - 1) \
			return -1;                                                \
		argv[argc++] = buf + used;                                        \
		used += (size_t)n_ + 1;                                           \
	} while (0)

	ADD("%s", argv0);
	ADD("--lcores");
	ADD("%s", e->lcores);
	if (e->main_lcore >= 0) {
		ADD("--main-lcore");
		ADD("%d", e->main_lcore);
	}
	ADD("--file-prefix");
	ADD("%s", e->file_prefix);
	ADD("--log-level");
	ADD("%s", e->log_level);
	if (e->hugepages) {
		/* No hugepage files survive us, even after a crash or SIGKILL. */
		ADD("--huge-unlink");
	} else {
		ADD("--no-huge");
	}
	if (e->memory_mb > 0) {
		ADD("-m");
		ADD("%u", e->memory_mb);
	}
	if (!conf->control.telemetry)
		ADD("--no-telemetry");
	for (unsigned int i = 0; i < conf->n_ports; i++) {
		const struct eph_conf_port *p = &conf->ports[i];

		if (p->is_pci) {
			ADD("-a");
			any_pci = true;
		} else {
			ADD("--vdev");
		}
		ADD("%s", p->device);
	}
	/* Without a PCI port, do not let EAL probe (and maybe grab) the host's NICs. */
	if (!any_pci)
		ADD("--no-pci");
	for (unsigned int i = 0; i < e->n_args; i++)
		ADD("%s", e->args[i]);
#undef ADD
	argv[argc] = NULL;
	return argc;
}

/* ---- data plane setup ------------------------------------------------ */

/* DPDK port name of a configured device: the PCI address, or the vdev name before ','. */
static void
device_port_name(const struct eph_conf_port *p, char *name, size_t len)
{
	size_t n = strcspn(p->device, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, p->device, n);
	name[n] = '\0';
}

static void
tx_unsent(struct rte_mbuf **pkts, uint16_t count, void *userdata)
{
	struct eph_counters *c = userdata;

	c->drop[EPH_DROP_tx_full] += count;
	rte_pktmbuf_free_bulk(pkts, count);
}

/* The bytes the net_af_packet PMD copies from a ring frame into an mbuf: framesz - 32. */
#define AF_PACKET_FRAME_OVERHEAD 32

/*
 * The frame size a net_af_packet device's arguments ask for (framesz=N),
 * 0 when they ask for none. Its PMD copies each received frame whole into
 * one mbuf and refuses rx queues whose mbufs cannot hold a frame.
 */
static unsigned long
af_packet_framesz(const char *device)
{
	char val[16];

	if (strncmp(device, "net_af_packet", 13) != 0 ||
	    !devarg_value(device, "framesz", val, sizeof(val)))
		return 0;
	return strtoul(val, NULL, 10);
}

/*
 * Where the kernel puts a received frame's Ethernet header in a TPACKET_V2
 * ring frame: TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14.
 */
#define AF_PACKET_RX_MACOFF 66

bool
eph_af_packet_mtu_fits(const char *device, uint16_t mtu)
{
	unsigned long framesz = af_packet_framesz(device);

	return framesz != 0 && (unsigned long)mtu + ETH_OVERHEAD + AF_PACKET_RX_MACOFF <= framesz;
}

/*
 * The MTU of a net_af_packet port's interface (iface=NAME), set as the
 * PMD's own mtu_set would: DPDK 22.11's ethdev refuses anything over 1500
 * before asking the PMD, which reports a maximum frame of 1518 whatever its
 * frames hold. 0 or -errno.
 */
static int
af_packet_set_mtu(const char *device, uint16_t mtu)
{
	struct ifreq ifr;
	char iface[IFNAMSIZ];
	int s, ret = 0;

	if (!devarg_value(device, "iface", iface, sizeof(iface)))
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ifr.ifr_mtu = mtu;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCSIFMTU, &ifr) != 0)
		ret = -errno;
	close(s);
	return ret;
}

/*
 * Receive buffers for a net_af_packet port whose frames exceed the
 * common mbuf (framesz=N): the kernel joins IPv4 fragments before the PMD
 * sees them (its fanout sets PACKET_FANOUT_FLAG_DEFRAG), so whole
 * datagrams up to the frame size arrive. A pool of its own, so that only
 * that port's packets pay for the size; few buffers: the PMD takes one per
 * received frame and the data plane gives it back at transmit.
 */
static int
af_packet_rx_pool(struct eph_dp *dp, unsigned int idx, const struct eph_conf_port *cp,
		  uint16_t nq, int socket, FILE *err)
{
	unsigned long framesz = af_packet_framesz(cp->device);
	unsigned long room;
	char name[RTE_MEMPOOL_NAMESIZE];

	char val[16];

	if (framesz <= AF_PACKET_FRAME_OVERHEAD)
		return 0;
	/*
	 * The PMD reads frame i at i * framesz, the kernel puts it at its
	 * block's start + its index in the block * framesz: they agree only
	 * when frames tile the blocks. Otherwise nothing after the first
	 * frame is ever received.
	 */
	if (devarg_value(cp->device, "blocksz", val, sizeof(val)) &&
	    strtoul(val, NULL, 10) % framesz != 0) {
		fprintf(err, "ephemera: error: port '%s': blocksz=%s is not a multiple of "
			     "framesz=%lu: frames must tile the blocks (e.g. framesz=61440,"
			     "blocksz=61440)\n", cp->name, val, framesz);
		return -EINVAL;
	}
	room = framesz - AF_PACKET_FRAME_OVERHEAD + RTE_PKTMBUF_HEADROOM;
	if (room <= rte_pktmbuf_data_room_size(dp->pool))
		return 0;
	if (room > UINT16_MAX) {
		fprintf(err, "ephemera: error: port '%s': framesz=%lu is more than an mbuf holds: "
			     "at most %u\n", cp->name, framesz,
			UINT16_MAX - RTE_PKTMBUF_HEADROOM + AF_PACKET_FRAME_OVERHEAD);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "eph_rx_%u", idx);
	dp->ports[idx].rx_pool = rte_pktmbuf_pool_create(name, AF_PACKET_RX_MBUFS * nq,
							 AF_PACKET_RX_CACHE, 0, (uint16_t)room,
							 socket);
	if (dp->ports[idx].rx_pool == NULL) {
		fprintf(err, "ephemera: error: port '%s': cannot allocate %u buffers of %lu bytes "
			     "for framesz=%lu: %s; raise eal.memory-mb\n", cp->name,
			AF_PACKET_RX_MBUFS * nq, room, framesz, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

/* Whether some port receives into buffers of its own (af_packet_rx_pool). */
static bool
any_rx_pool(const struct eph_conf *conf, uint16_t data_room)
{
	for (unsigned int i = 0; i < conf->n_ports; i++) {
		unsigned long f = af_packet_framesz(conf->ports[i].device);

		if (f > AF_PACKET_FRAME_OVERHEAD &&
		    f - AF_PACKET_FRAME_OVERHEAD + RTE_PKTMBUF_HEADROOM > data_room)
			return true;
	}
	return false;
}

static int
port_setup(struct eph_dp *dp, unsigned int idx, const struct eph_conf_port *cp, FILE *err)
{
	struct eph_port *port = &dp->ports[idx];
	uint16_t nq = (uint16_t)dp->n_workers;
	uint16_t nb_rx = cp->rx_desc, nb_tx = cp->tx_desc;
	struct rte_eth_conf pc;
	struct rte_eth_dev_info info;
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t pid;
	int socket, ret;

	device_port_name(cp, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, &pid) != 0) {
		fprintf(err, "ephemera: error: port '%s': device %s was not found: %s\n", cp->name,
			name, cp->is_pci ? "bind the NIC to vfio-pci (dpdk-devbind.py -b vfio-pci "
					   "ADDRESS) and check the address with dpdk-devbind.py --status"
					 : "check the driver name and arguments of the vdev");
		return -ENODEV;
	}
	port->port_id = pid;
	port->mtu = cp->mtu;
	port->mss_clamp = cp->mss_clamp;
	port->addr = rte_cpu_to_be_32(cp->addr);
	port->mask = rte_cpu_to_be_32(cp->prefix_len ? ~0u << (32 - cp->prefix_len) : 0);
	port->role = cp->role;
	snprintf(port->name, sizeof(port->name), "%s", cp->name);

	ret = rte_eth_dev_info_get(pid, &info);
	if (ret != 0)
		goto fail;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		fprintf(err, "ephemera: error: port '%s': device %s offers %u rx and %u tx queues "
			     "but %u workers need one each%s\n", cp->name, name, info.max_rx_queues,
			info.max_tx_queues, nq,
			strncmp(name, "net_af_packet", 13) == 0 ? "; add qpairs=N to its arguments"
								: "; use fewer worker lcores");
		return -EINVAL;
	}

	memset(&pc, 0, sizeof(pc));
	if (nq > 1 && info.flow_type_rss_offloads != 0) {
		pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		pc.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	}
	/* Every mbuf comes from one pool with refcnt 1: the PMD may free them in bulk. */
	if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) &&
	    !any_rx_pool(dp->conf, rte_pktmbuf_data_room_size(dp->pool)))
		pc.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	ret = rte_eth_dev_configure(pid, nq, nq, &pc);
	if (ret != 0)
		goto fail;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rx, &nb_tx);
	if (ret != 0)
		goto fail;
	socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)rte_socket_id();
	ret = af_packet_rx_pool(dp, idx, cp, nq, socket, err);
	if (ret != 0)
		return ret;
	for (uint16_t q = 0; q < nq; q++) {
		ret = rte_eth_rx_queue_setup(pid, q, nb_rx, (unsigned int)socket, NULL,
					     port->rx_pool != NULL ? port->rx_pool : dp->pool);
		if (ret != 0)
			goto fail;
		ret = rte_eth_tx_queue_setup(pid, q, nb_tx, (unsigned int)socket, NULL);
		if (ret != 0)
			goto fail;
	}
	ret = rte_eth_dev_set_mtu(pid, cp->mtu);
	/* Above 1500 on net_af_packet: what its frames (framesz=N) hold. */
	if (ret == -EINVAL && eph_af_packet_mtu_fits(cp->device, cp->mtu))
		ret = af_packet_set_mtu(cp->device, cp->mtu);
	if (ret != 0 && ret != -ENOTSUP) {
		fprintf(err, "ephemera: error: port '%s': cannot set MTU %u: %s%s\n", cp->name,
			cp->mtu, rte_strerror(-ret),
			strncmp(cp->device, "net_af_packet", 13) == 0 && cp->mtu > 1500 &&
					!eph_af_packet_mtu_fits(cp->device, cp->mtu)
				? " (net_af_packet: give the device frames that hold it, "
				  "e.g. framesz=61440,blocksz=61440)"
				: "");
		return ret;
	}
	ret = rte_eth_macaddr_get(pid, &port->mac);
	if (ret != 0)
		goto fail;
	if (cp->promiscuous)
		rte_eth_promiscuous_enable(pid);
	ret = rte_eth_dev_start(pid);
	if (ret != 0)
		goto fail;
	return 0;
fail:
	fprintf(err, "ephemera: error: port '%s': device %s: %s\n", cp->name, name,
		rte_strerror(-ret));
	return ret;
}

static struct eph_worker *
worker_create(struct eph_dp *dp, uint16_t id, unsigned int lcore, FILE *err)
{
	char name[RTE_RING_NAMESIZE];
	int socket = (int)rte_lcore_to_socket_id(lcore);
	struct eph_worker *w;

	w = rte_zmalloc_socket("eph_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL)
		goto nomem;
	w->dp = dp;
	w->id = id;
	w->lcore = lcore;
	snprintf(name, sizeof(name), "eph_from_ctl_%u", id);
	w->from_control = rte_ring_create(name, FROM_CONTROL_RING_SIZE, socket,
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->from_control == NULL)
		goto nomem;
	for (unsigned int p = 0; p < dp->n_ports; p++) {
		w->txb[p] = rte_zmalloc_socket("eph_txb", RTE_ETH_TX_BUFFER_SIZE(dp->burst), 0,
					       socket);
		if (w->txb[p] == NULL)
			goto nomem;
		rte_eth_tx_buffer_init(w->txb[p], (uint16_t)dp->burst);
		rte_eth_tx_buffer_set_err_callback(w->txb[p], tx_unsent, &w->stats);
	}
	return w;
nomem:
	fprintf(err, "ephemera: error: out of memory creating worker %u: raise eal.memory-mb\n",
		id);
	return w; /* partially built: teardown frees it */
}

int
eph_dp_setup(struct eph_dp *dp, const struct eph_conf *conf, FILE *err)
{
	int socket = (int)rte_socket_id();
	unsigned int lcore, max_mtu = 0, needed;
	uint16_t data_room;
	size_t rcu_size;
	int ret;

	memset(dp, 0, sizeof(*dp));
	dp->conf = conf;
	dp->n_ports = conf->n_ports;
	dp->burst = conf->dataplane.burst;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->drain_tsc = (dp->tsc_hz + US_PER_S - 1) / US_PER_S * conf->dataplane.tx_drain_us;
	dp->icmp_rate = conf->dataplane.icmp_rate;

	RTE_LCORE_FOREACH_WORKER(lcore)
		dp->n_workers++;
	if (dp->n_workers == 0) {
		fprintf(err, "ephemera: error: no worker lcore: eal.lcores needs at least two\n");
		return -EINVAL;
	}

	/* Enough mbufs to fill every rx and tx ring, plus per-lcore caches and bursts. */
	needed = 0;
	for (unsigned int i = 0; i < conf->n_ports; i++) {
		needed += dp->n_workers * (conf->ports[i].rx_desc + conf->ports[i].tx_desc);
		max_mtu = RTE_MAX(max_mtu, conf->ports[i].mtu);
	}
	needed += (dp->n_workers + 1) * (MEMPOOL_CACHE + EPH_MAX_BURST) + TO_CONTROL_RING_SIZE;
	needed += eph_kernel_if_mbufs(conf, dp->n_workers);
	if (conf->dataplane.mbufs < needed) {
		fprintf(err, "ephemera: error: dataplane.mbufs %u is too few for %u ports x %u "
			     "workers: at least %u are needed (or lower rx-desc/tx-desc)\n",
			conf->dataplane.mbufs, dp->n_ports, dp->n_workers, needed);
		return -EINVAL;
	}
	data_room = (uint16_t)RTE_MAX((unsigned int)RTE_MBUF_DEFAULT_BUF_SIZE,
				      RTE_PKTMBUF_HEADROOM + max_mtu + ETH_OVERHEAD);
	dp->pool = rte_pktmbuf_pool_create("eph_pool", conf->dataplane.mbufs, MEMPOOL_CACHE, 0,
					   data_room, socket);
	if (dp->pool == NULL) {
		fprintf(err, "ephemera: error: cannot allocate %u mbufs: %s; raise eal.memory-mb "
			     "or lower dataplane.mbufs\n", conf->dataplane.mbufs,
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	/*
	 * Egress fragmentation (rte_ipv4_fragment_packet) points each fragment's
	 * payload at the original packet through an indirect mbuf, which lives
	 * only until the fragment is copied into one buffer (output.c): a few
	 * bursts' worth of fragments per worker is plenty.
	 */
	dp->indirect_pool = rte_pktmbuf_pool_create("eph_indirect", INDIRECT_MBUFS, MEMPOOL_CACHE,
						    0, 0, socket);
	if (dp->indirect_pool == NULL) {
		fprintf(err, "ephemera: error: cannot allocate %u indirect mbufs: %s; raise "
			     "eal.memory-mb\n", INDIRECT_MBUFS, rte_strerror(rte_errno));
		ret = -ENOMEM;
		goto fail;
	}
	ret = eph_dp_register_meta(dp);
	if (ret != 0)
		goto fail;

	dp->to_control = rte_ring_create("eph_to_control", TO_CONTROL_RING_SIZE, socket,
					 RING_F_SC_DEQ);
	rcu_size = rte_rcu_qsbr_get_memsize(dp->n_workers);
	dp->rcu = rte_zmalloc_socket("eph_rcu", rcu_size, RTE_CACHE_LINE_SIZE, socket);
	if (dp->to_control == NULL || dp->rcu == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	rte_rcu_qsbr_init(dp->rcu, dp->n_workers);

	pthread_rwlock_init(&dp->cfg_lock, NULL);
	ret = eph_neigh_table_create(&dp->neigh, "eph_neigh", conf->arp.max_entries,
				     conf->arp.hold_packets, dp->rcu, socket);
	if (ret != 0)
		goto fail;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		uint16_t id = 0;

		while (dp->workers[id] != NULL)
			id++;
		dp->workers[id] = worker_create(dp, id, lcore, err);
		if (dp->workers[id] == NULL || dp->workers[id]->from_control == NULL) {
			ret = -ENOMEM;
			goto fail_quiet;
		}
		for (unsigned int p = 0; p < dp->n_ports; p++)
			if (dp->workers[id]->txb[p] == NULL) {
				ret = -ENOMEM;
				goto fail_quiet;
			}
	}

	ret = eph_nat_setup(dp, conf, err);
	if (ret == 0)
		ret = eph_lb_setup(dp, conf, err);
	if (ret != 0)
		goto fail_quiet;
	/* Routes, pools and timeouts: the first configuration snapshot. */
	dp->rc = calloc(1, sizeof(*dp->rc));
	if (dp->rc == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = eph_reconfig_init(dp->rc, dp, conf, err);
	if (ret != 0) {
		free(dp->rc);
		dp->rc = NULL;
		goto fail_quiet;
	}

	for (unsigned int i = 0; i < conf->n_ports; i++) {
		ret = port_setup(dp, i, &conf->ports[i], err);
		if (ret != 0)
			goto fail_quiet;
		dp->n_ports_up++;
		ret = eph_kernel_if_setup(dp, i, &conf->ports[i], err);
		if (ret != 0)
			goto fail_quiet;
	}
	return 0;
fail:
	fprintf(err, "ephemera: error: data plane setup failed: %s; raise eal.memory-mb\n",
		rte_strerror(ret < 0 ? -ret : ret));
fail_quiet:
	eph_dp_teardown(dp);
	return ret < 0 ? ret : -ret;
}

void
eph_dp_teardown(struct eph_dp *dp)
{
	for (unsigned int i = 0; i < dp->n_ports_up; i++) {
		eph_kernel_if_teardown(dp, i);
		rte_eth_dev_stop(dp->ports[i].port_id);
		rte_eth_dev_close(dp->ports[i].port_id);
	}
	dp->n_ports_up = 0;
	if (dp->rc != NULL) {
		eph_reconfig_teardown(dp->rc);
		free(dp->rc);
		dp->rc = NULL;
	}
	eph_lb_teardown(dp);
	eph_nat_teardown(dp);
	for (unsigned int id = 0; id < RTE_MAX_LCORE; id++) {
		struct eph_worker *w = dp->workers[id];
		struct rte_mbuf *m;

		if (w == NULL)
			continue;
		if (w->from_control != NULL) {
			while (rte_ring_dequeue(w->from_control, (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(w->from_control);
		}
		for (unsigned int p = 0; p < EPH_MAX_PORTS; p++)
			rte_free(w->txb[p]);
		rte_free(w);
		dp->workers[id] = NULL;
	}
	if (dp->neigh.hash != NULL)
		eph_neigh_table_free(&dp->neigh);
	if (dp->to_control != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_dequeue(dp->to_control, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(dp->to_control);
	}
	rte_free(dp->rcu);
	rte_mempool_free(dp->pool);
	for (unsigned int p = 0; p < EPH_MAX_PORTS; p++) {
		rte_mempool_free(dp->ports[p].rx_pool);
		dp->ports[p].rx_pool = NULL;
	}
	rte_mempool_free(dp->indirect_pool);
	dp->indirect_pool = NULL;
	dp->rcu = NULL;
	dp->to_control = NULL;
	dp->pool = NULL;
}
