/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel interfaces of ports (ports[].kernel-interface): a net_tap device
 * per port, named as configured, with the port's address and MTU, ARP off
 * (the data plane answers and asks ARP; the kernel hands every packet to
 * it) and IPv6 off (nothing of the data plane would carry it), and one
 * queue per worker. dataplane/kernel.c moves the packets.
 *
 * virtio_user over vhost-net would spare the copies of a tap but needs
 * /dev/vhost-net; net_tap needs only /dev/net/tun.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include "control/kernel_if.h"
#include "control/log.h"
#include "dataplane/dp.h"

#define KERNEL_DESC    256 /* per queue: the exception path carries little */
#define KERNEL_POLL_US 50  /* a worker reads its queues this often */

unsigned int
eph_kernel_if_mbufs(const struct eph_conf *conf, unsigned int n_workers)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < conf->n_ports; i++)
		if (conf->ports[i].kernel_if[0] != '\0')
			n += n_workers * 2 * KERNEL_DESC;
	return n;
}

/* Best effort: without it the kernel would send router solicitations the data plane drops. */
static void
disable_ipv6(const char *ifname)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		EPH_LOG(WARNING, "kernel interface %s: IPv6 stays on: %s", ifname, strerror(errno));
	close(fd);
}

/* Address, netmask, ARP off and up. Returns 0 or -errno, with what failed in *what. */
static int
configure_address(const char *ifname, uint32_t addr_be, uint32_t mask_be, const char **what)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*what = "socket";
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = addr_be;
	if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) {
		*what = "setting its address";
		goto fail;
	}
	sin->sin_addr.s_addr = mask_be;
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0) {
		*what = "setting its netmask";
		goto fail;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
		*what = "reading its flags";
		goto fail;
	}
	ifr.ifr_flags |= IFF_UP | IFF_NOARP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		*what = "bringing it up";
		goto fail;
	}
	close(fd);
	return 0;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

int
eph_kernel_if_setup(struct eph_dp *dp, unsigned int idx, const struct eph_conf_port *cp,
		    FILE *err)
{
	struct eph_port *port = &dp->ports[idx];
	uint16_t nq = (uint16_t)dp->n_workers, nb_rx = KERNEL_DESC, nb_tx = KERNEL_DESC;
	struct rte_eth_conf pc;
	const char *what = NULL;
	char args[64];
	uint16_t pid;
	int ret;

	if (cp->kernel_if[0] == '\0')
		return 0;
	if (if_nametoindex(cp->kernel_if) != 0) {
		fprintf(err, "ephemera: error: port '%s': kernel interface %s: an interface of that "
			     "name exists already; remove it or choose another kernel-interface\n",
			cp->name, cp->kernel_if);
		return -EEXIST;
	}
	port->kernel_port_id = RTE_MAX_ETHPORTS;
	snprintf(port->kernel_vdev, sizeof(port->kernel_vdev), "net_tap_eph%u", idx);
	snprintf(args, sizeof(args), "iface=%s", cp->kernel_if);
	ret = rte_vdev_init(port->kernel_vdev, args);
	if (ret != 0) {
		port->kernel_vdev[0] = '\0';
		fprintf(err, "ephemera: error: port '%s': cannot create kernel interface %s (net_tap, "
			     "needs /dev/net/tun and CAP_NET_ADMIN): %s\n", cp->name, cp->kernel_if,
			rte_strerror(-ret));
		return ret < 0 ? ret : -ret;
	}
	ret = rte_eth_dev_get_port_by_name(port->kernel_vdev, &pid);
	if (ret != 0) {
		what = "finding its port";
		goto fail;
	}
	port->kernel_port_id = pid;
	snprintf(port->kernel_if, sizeof(port->kernel_if), "%s", cp->kernel_if);
	disable_ipv6(cp->kernel_if);

	memset(&pc, 0, sizeof(pc));
	ret = rte_eth_dev_configure(pid, nq, nq, &pc);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rx, &nb_tx);
	for (uint16_t q = 0; q < nq && ret == 0; q++) {
		ret = rte_eth_rx_queue_setup(pid, q, nb_rx, (unsigned int)rte_socket_id(), NULL,
					     dp->pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(pid, q, nb_tx, (unsigned int)rte_socket_id(),
						     NULL);
	}
	if (ret != 0) {
		what = "setting up its queues";
		goto fail;
	}
	/*
	 * The tap PMD receives the kernel's frames into one mbuf each and says
	 * so in its largest frame (1522 bytes in DPDK 22.11): a port's jumbo
	 * MTU stays the data plane's, the kernel's interface gets the standard
	 * 1500 and its own packets are cut to it (its TCP advertises the MSS
	 * that fits).
	 */
	{
		struct rte_eth_dev_info info;
		uint16_t mtu = cp->mtu;

		if (rte_eth_dev_info_get(pid, &info) == 0 &&
		    (uint32_t)mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN > info.max_rx_pktlen)
			mtu = RTE_ETHER_MTU;
		ret = rte_eth_dev_set_mtu(pid, mtu);
		if (ret != 0) {
			what = "setting its MTU";
			goto fail;
		}
		if (mtu != cp->mtu)
			EPH_LOG(NOTICE, "port %s: kernel interface %s: MTU %u, the most it takes (the port's: %u)",
				cp->name, cp->kernel_if, mtu, cp->mtu);
	}
	ret = rte_eth_macaddr_get(pid, &port->kernel_mac);
	if (ret == 0)
		ret = rte_eth_dev_start(pid);
	if (ret != 0) {
		what = "starting it";
		goto fail;
	}
	ret = configure_address(cp->kernel_if, port->addr, port->mask, &what);
	if (ret != 0) {
		rte_eth_dev_stop(pid);
		fprintf(err, "ephemera: error: port '%s': kernel interface %s: %s: %s\n", cp->name,
			cp->kernel_if, what, strerror(-ret));
		eph_kernel_if_teardown(dp, idx);
		return ret;
	}
	port->has_kernel = true;
	if (dp->n_kernel++ == 0) {
		dp->kernel_rate = dp->conf->dataplane.kernel_rate;
		dp->kernel_poll_tsc = dp->tsc_hz / US_PER_S * KERNEL_POLL_US;
		if (eph_worker_poll_register(eph_kernel_poll) != 0) {
			fprintf(err, "ephemera: error: no room for the kernel interfaces' poll\n");
			eph_kernel_if_teardown(dp, idx);
			return -ENOSPC;
		}
	}
	EPH_LOG(INFO, "port %s: kernel interface %s (%u queues)", cp->name, cp->kernel_if, nq);
	return 0;
fail:
	fprintf(err, "ephemera: error: port '%s': kernel interface %s: %s: %s\n", cp->name,
		cp->kernel_if, what, rte_strerror(ret < 0 ? -ret : ret));
	eph_kernel_if_teardown(dp, idx);
	return ret < 0 ? ret : -ret;
}

void
eph_kernel_if_teardown(struct eph_dp *dp, unsigned int idx)
{
	struct eph_port *port = &dp->ports[idx];

	if (port->kernel_vdev[0] == '\0')
		return;
	if (port->has_kernel) {
		port->has_kernel = false;
		dp->n_kernel--;
	}
	/* Closing the tap's descriptors removes the interface. */
	if (port->kernel_port_id < RTE_MAX_ETHPORTS) {
		rte_eth_dev_stop(port->kernel_port_id);
		rte_eth_dev_close(port->kernel_port_id);
	}
	rte_vdev_uninit(port->kernel_vdev);
	port->kernel_vdev[0] = '\0';
}
