// SPDX-License-Identifier: LGPL-2.1-or-later

// Command golibvirt-sweep drives a daemon with go-libvirt, a pure-Go client
// that does not use libvirt's C library (it encodes XDR itself), through a
// fixed sequence of calls on test:///default: connection facts, domain,
// network and storage lifecycles and a set of failing calls. Each step
// prints one line, "STEP: OK result" or "STEP: ERR code message", with
// UUIDs and MACs masked, so that runs against libvirt's C daemon and ours
// can be compared as text.
//
// usage: golibvirt-sweep SOCKET
package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

const domXML = `<domain type='test'>
  <name>%s</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>`

const netXML = `<network><name>%s</name><bridge name='%s'/></network>`

const badUUID = "00000000-1111-2222-3333-444444444444"

var masks = []struct {
	rx  *regexp.Regexp
	rep string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "UUID"},
	{regexp.MustCompile(`([0-9a-f]{2}:){5}[0-9a-f]{2}`), "MAC"},
}

func mask(s string) string {
	for _, m := range masks {
		s = m.rx.ReplaceAllString(s, m.rep)
	}
	return s
}

func report(name string, result string, err error) {
	line := name + ": "
	if err != nil {
		if e, ok := err.(libvirt.Error); ok {
			line += fmt.Sprintf("ERR %d %s", e.Code, e.Message)
		} else {
			line += "ERR " + err.Error()
		}
	} else if result == "" {
		line += "OK"
	} else {
		line += "OK " + result
	}
	fmt.Println(mask(line))
}

func parseUUID(s string) libvirt.UUID {
	var u libvirt.UUID
	j := 0
	for i := 0; i < len(s) && j < 16; i++ {
		if s[i] == '-' {
			continue
		}
		var b byte
		fmt.Sscanf(s[i:i+2], "%02x", &b)
		u[j] = b
		j++
		i++
	}
	return u
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: golibvirt-sweep SOCKET")
		os.Exit(2)
	}
	dialer := dialers.NewLocal(dialers.WithSocket(os.Args[1]), dialers.WithLocalTimeout(10*time.Second))
	l := libvirt.NewWithDialer(dialer)
	if err := l.ConnectToURI(libvirt.TestDefault); err != nil {
		report("connect", "", err)
		os.Exit(1)
	}
	report("connect", "", nil)

	t, err := l.ConnectGetType()
	report("ConnectGetType", t, err)
	uri, err := l.ConnectGetUri()
	report("ConnectGetURI", uri, err)
	hv, err := l.ConnectGetVersion()
	report("ConnectGetVersion", fmt.Sprint(hv), err)
	host, err := l.ConnectGetHostname()
	report("ConnectGetHostnameMatches", fmt.Sprint(err == nil && host != ""), err)
	_, mem, cpus, mhz, nodes, sockets, cores, threads, err := l.NodeGetInfo()
	report("NodeGetInfo", fmt.Sprint(mem, cpus, mhz, nodes, sockets, cores, threads), err)
	vcpus, err := l.ConnectGetMaxVcpus(libvirt.OptString{"test"})
	report("ConnectGetMaxVcpus", fmt.Sprint(vcpus), err)

	// Domains
	doms, n, err := l.ConnectListAllDomains(1, 0)
	names := []string{}
	for _, d := range doms {
		names = append(names, d.Name)
	}
	report("ConnectListAllDomains", fmt.Sprint(names, n), err)
	_, err = l.DomainLookupByName("nosuch")
	report("DomainLookupByName nosuch", "", err)
	_, err = l.DomainLookupByUUID(parseUUID(badUUID))
	report("DomainLookupByUUID unknown", "", err)
	_, err = l.DomainLookupByID(9999)
	report("DomainLookupByID unknown", "", err)
	_, err = l.DomainDefineXML("<domain type='test'><name>broken</name></domain>")
	report("DomainDefineXML incomplete", "", err)
	_, err = l.DomainDefineXML("<network/>")
	report("DomainDefineXML wrong root", "", err)
	_, _, err = l.ConnectListAllDomains(1, libvirt.ConnectListAllDomainsFlags(1<<30))
	report("ConnectListAllDomains bad flags", "", err)

	d, err := l.DomainDefineXML(fmt.Sprintf(domXML, "godom"))
	report("DomainDefineXML godom", d.Name, err)
	_, err = l.DomainDefineXML(fmt.Sprintf("<domain type='test'><name>test</name><uuid>%s</uuid><memory>1024</memory><os><type>hvm</type></os></domain>", badUUID))
	report("DomainDefineXML duplicate name", "", err)
	st, reason, err := l.DomainGetState(d, 0)
	report("DomainGetState defined", fmt.Sprint(st, reason), err)
	err = l.DomainDestroy(d)
	report("DomainDestroy inactive", "", err)
	err = l.DomainSuspend(d)
	report("DomainSuspend inactive", "", err)
	err = l.DomainCreate(d)
	report("DomainCreate", "", err)
	err = l.DomainCreate(d)
	report("DomainCreate running", "", err)
	state, maxMem, memory, nrVirtCPU, _, err := l.DomainGetInfo(d)
	report("DomainGetInfo", fmt.Sprint(state, maxMem, memory, nrVirtCPU), err)
	err = l.DomainSuspend(d)
	report("DomainSuspend", "", err)
	err = l.DomainResume(d)
	report("DomainResume", "", err)
	err = l.DomainResume(d)
	report("DomainResume running", "", err)
	xml, err := l.DomainGetXMLDesc(d, 0)
	report("DomainGetXMLDesc", fmt.Sprintf("%d bytes", len(xml)), err)
	_, err = l.DomainGetXMLDesc(d, libvirt.DomainXMLFlags(1<<20))
	report("DomainGetXMLDesc bad flags", "", err)
	err = l.DomainDestroy(d)
	report("DomainDestroy", "", err)
	err = l.DomainUndefineFlags(d, libvirt.DomainUndefineFlagsValues(1<<20))
	report("DomainUndefineFlags bad flags", "", err)
	err = l.DomainUndefine(d)
	report("DomainUndefine", "", err)
	err = l.DomainUndefine(d)
	report("DomainUndefine again", "", err)

	// What metrics exporters read: every domain's statistics (names of the
	// parameters only: values move), memory statistics, the library version.
	recs, err := l.ConnectGetAllDomainStats(nil, 0, 0)
	summary := []string{}
	for _, rec := range recs {
		fields := []string{}
		for _, p := range rec.Params {
			fields = append(fields, p.Field)
		}
		sort.Strings(fields)
		summary = append(summary, fmt.Sprintf("%s%v", rec.Dom.Name, fields))
	}
	report("ConnectGetAllDomainStats", strings.Join(summary, " "), err)
	_, err = l.ConnectGetAllDomainStats(nil, 0, libvirt.ConnectGetAllDomainStatsFlags(1<<20))
	report("ConnectGetAllDomainStats bad flags", "", err)
	if testDom, err := l.DomainLookupByName("test"); err == nil {
		stats, err := l.DomainMemoryStats(testDom, 13, 0)
		tags := []string{}
		for _, st := range stats {
			tags = append(tags, fmt.Sprint(st.Tag))
		}
		report("DomainMemoryStats", strings.Join(tags, ","), err)
	}
	libVer, err := l.ConnectGetLibVersion()
	report("ConnectGetLibVersionMajor", fmt.Sprint(libVer/1000000), err)

	// Networks
	nets, _, err := l.ConnectListAllNetworks(1, 0)
	names = []string{}
	for _, n := range nets {
		names = append(names, n.Name)
	}
	report("ConnectListAllNetworks", fmt.Sprint(names), err)
	_, err = l.NetworkLookupByName("nosuch")
	report("NetworkLookupByName nosuch", "", err)
	net, err := l.NetworkDefineXML(fmt.Sprintf(netXML, "gonet", "virbr88"))
	report("NetworkDefineXML gonet", net.Name, err)
	_, err = l.NetworkDefineXML(fmt.Sprintf(netXML, "default", "virbr89"))
	report("NetworkDefineXML duplicate", "", err)
	err = l.NetworkCreate(net)
	report("NetworkCreate", "", err)
	err = l.NetworkCreate(net)
	report("NetworkCreate active", "", err)
	active, err := l.NetworkIsActive(net)
	report("NetworkIsActive", fmt.Sprint(active), err)
	err = l.NetworkDestroy(net)
	report("NetworkDestroy", "", err)
	err = l.NetworkDestroy(net)
	report("NetworkDestroy inactive", "", err)
	err = l.NetworkUndefine(net)
	report("NetworkUndefine", "", err)

	// Storage
	pools, _, err := l.ConnectListAllStoragePools(1, 0)
	names = []string{}
	for _, p := range pools {
		names = append(names, p.Name)
	}
	report("ConnectListAllStoragePools", fmt.Sprint(names), err)
	_, err = l.StoragePoolLookupByName("nosuch")
	report("StoragePoolLookupByName nosuch", "", err)
	pool, err := l.StoragePoolLookupByName("default-pool")
	report("StoragePoolLookupByName default-pool", pool.Name, err)
	err = l.StoragePoolCreate(pool, 0)
	report("StoragePoolCreate active", "", err)
	_, err = l.StorageVolLookupByName(pool, "nosuch")
	report("StorageVolLookupByName nosuch", "", err)
	_, err = l.StorageVolCreateXML(pool, "<volume/>", 0)
	report("StorageVolCreateXML no name", "", err)

	// Not supported by any driver here
	_, err = l.SecretLookupByUUID(parseUUID(badUUID))
	report("SecretLookupByUUID", "", err)
	_, err = l.NwfilterLookupByName("nosuch")
	report("NwfilterLookupByName", "", err)

	report("disconnect", "", l.Disconnect())
}
