// Each tool module of `qkvm explain`, line by line: the verdict, the words of
// the explanation, and the exact qkvm line. The command list is qkvm's own
// (built from its yargs commands), so a verb that qkvm drops breaks a test.
import { describe, expect, it } from 'vitest';
import { explainLine, type CommandExplanation, type ToolContext } from '../../src/explain/index.js';
import { toolContext } from '../../src/cli/explain.js';

const real = await toolContext();

function one(line: string, c: ToolContext = real): Extract<CommandExplanation, { kind: 'tool' }> {
  const cmds = explainLine(line, c);
  expect(cmds).toHaveLength(1);
  expect(cmds[0].kind).toBe('tool');
  return cmds[0] as Extract<CommandExplanation, { kind: 'tool' }>;
}

type Case = [line: string, verdict: 'equivalent' | 'none' | 'unknown', qkvm: string | undefined, says: RegExp];

/** qkvm's command list with or without one verb, for the tools whose equivalent depends on it. */
const withVerb = (verb: string): ToolContext => ({ commands: new Map([...real.commands, [verb, verb]]) });
const without = (verb: string): ToolContext => ({ commands: new Map([...real.commands].filter(([k]) => k !== verb)) });

function cases(name: string, list: Case[], c: ToolContext = real) {
  describe(name, () => {
    it.each(list)('%s -> %s', (line, verdict, qkvm, says) => {
      const e = one(line, c);
      expect(e.verdict).toBe(verdict);
      expect(e.qkvm).toBe(qkvm);
      expect(`${e.says} ${e.why ?? ''} ${e.parts.map((p) => p.says).join(' ')}`).toMatch(says);
      if (verdict === 'none') expect(e.why).toBeTruthy();
    });
  });
}

cases('virsh', [
  ['virsh start vm1', 'equivalent', 'qkvm start vm1', /boots the defined guest vm1/],
  ['sudo virsh list --all', 'equivalent', 'qkvm list --all', /every defined guest/],
  ['virsh -c qemu:///system shutdown web01', 'equivalent', 'qkvm shutdown web01', /ACPI.*|connects to a libvirt daemon/],
  ['virsh --connect qemu:///system destroy web01', 'equivalent', 'qkvm destroy web01', /pulling the plug/],
  ['virsh net-start default', 'equivalent', 'qkvm net start default', /starts a virtual network/],
  ['virsh net-list --all', 'equivalent', 'qkvm net list', /lists the virtual networks/],
  ['virsh vncdisplay vm1', 'equivalent', 'qkvm vnc vm1', /VNC display/],
  ['virsh snapshot-revert --domain vm1 snap1', 'equivalent', 'qkvm snapshot-revert --domain vm1 snap1', /goes back to a snapshot/],
  ['virsh define /etc/libvirt/qemu/vm1.xml', 'none', undefined, /YAML, not libvirt XML/],
  ['virsh nodeinfo', 'none', undefined, /doctor/],
  ['virsh domiffadr vm1', 'unknown', undefined, /did you mean domifaddr/],
  ['virsh frobnicate vm1', 'unknown', undefined, /not a line qkvm knows: virsh frobnicate/],
]);

cases('virt-install', [
  ['virt-install --name=web --ram 1024 --disk path=/tmp/web.qcow2,size=8 --cdrom /tmp/x.iso', 'equivalent',
    'qkvm virt-install --name=web --ram 1024 --disk path=/tmp/web.qcow2,size=8 --cdrom /tmp/x.iso', /1024 MiB of RAM.*size= is in GiB/],
  ['virt-install -n db -r 512 --import --disk /tmp/db.img --noautoconsole', 'equivalent',
    'qkvm virt-install -n db -r 512 --import --disk /tmp/db.img --noautoconsole', /skips the installer/],
  ['virt-install \u2013name web \u2013ram 1024 --nographics', 'equivalent', "qkvm virt-install '\u2013name' web '\u2013ram' 1024 --nographics", /names the guest web/],
  ['virt-install --name web --frobnicate', 'unknown', undefined, /not a line qkvm knows: virt-install --frobnicate/],
], withVerb('virt-install'));

describe('a swap tool this qkvm lacks names the line it would be', () => {
  it('keeps the swapped line in refused', () => {
    const e = one('qemu-img info vm.qcow2', without('qemu-img'));
    expect(e.refused).toEqual({ qkvm: 'qkvm qemu-img info vm.qcow2', error: 'qkvm has no qemu-img command' });
    expect(e.see).toEqual(['qkvm disk info --help']);
    expect(one('virt-install --name web --import --disk x.img', without('virt-install')).refused?.qkvm).toBe('qkvm virt-install --name web --import --disk x.img');
  });
});

cases('virt-clone, where qkvm has no virt-clone', [
  ['virt-clone --original vm1 --name vm2 --auto-clone', 'none', undefined, /no virt-clone command.*copies the shut off guest vm1/],
  ['virt-clone -o vm1 -n vm2 -f /var/lib/libvirt/images/vm2.qcow2', 'none', undefined, /writes the copy's disk/],
  ['virt-clone --original vm1 --bogus', 'unknown', undefined, /virt-clone --bogus/],
], without('virt-clone'));

cases('virt-clone, where qkvm has virt-clone', [
  ['virt-clone --original vm1 --name vm2 --auto-clone', 'equivalent', 'qkvm virt-clone --original vm1 --name vm2 --auto-clone', /copies the shut off guest vm1/],
  ['virt-clone --original=vm1 --name=vm2 --file=/tmp/vm2.qcow2', 'equivalent', 'qkvm virt-clone --original=vm1 --name=vm2 --file=/tmp/vm2.qcow2', /names the copy vm2/],
  ['virt-clone --original vm1 --bogus', 'unknown', undefined, /virt-clone --bogus/],
], withVerb('virt-clone'));

cases('virt-viewer and virt-manager', [
  ['virt-viewer vm1', 'equivalent', 'qkvm vnc vm1', /graphical display/],
  ['virt-viewer --connect qemu:///system web01', 'equivalent', 'qkvm vnc web01', /libvirt daemon/],
  ['virt-viewer --zoom 2 vm1', 'unknown', undefined, /virt-viewer --zoom/],
  ['virt-manager', 'none', undefined, /no GUI/],
]);

cases('qemu-img, where qkvm has qemu-img', [
  ['qemu-img create -f qcow2 disk.qcow2 20G', 'equivalent', 'qkvm qemu-img create -f qcow2 disk.qcow2 20G', /creates the qcow2 image disk.qcow2 of 20G/],
  ['qemu-img convert -p -O qcow2 win.vmdk win.qcow2', 'equivalent', 'qkvm qemu-img convert -p -O qcow2 win.vmdk win.qcow2', /copies win.vmdk to win.qcow2 converting it to qcow2, showing progress/],
  ['qemu-img create -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2', 'equivalent', 'qkvm qemu-img create -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2', /an overlay on base.qcow2/],
  ['qemu-img snapshot -c before-upgrade vm.qcow2', 'equivalent', 'qkvm qemu-img snapshot -c before-upgrade vm.qcow2', /internal snapshot before-upgrade of vm.qcow2/],
  ['qemu-img resize --shrink vm.qcow2 -10G', 'equivalent', 'qkvm qemu-img resize --shrink vm.qcow2 -10G', /virtual size of vm.qcow2 to -10G/],
  ['qemu-img measure -O qcow2 x.raw', 'equivalent', 'qkvm qemu-img measure -O qcow2 x.raw', /space a converted image would need/],
  ['qemu-img explode x.qcow2', 'unknown', undefined, /not a line qkvm knows: qemu-img explode/],
], withVerb('qemu-img'));

cases('qemu-img, where qkvm has only disk', [
  ['qemu-img info vm.qcow2', 'none', undefined, /describes the image vm.qcow2.*no qemu-img command/],
  ['qemu-img check -r all vm.qcow2', 'none', undefined, /checks the image all|checks the image/],
  ['qemu-img measure -O qcow2 x.raw', 'none', undefined, /does not wrap qemu-img measure/],
  ['qemu-img', 'unknown', undefined, /needs a subcommand/],
], without('qemu-img'));

cases('brctl', [
  ['brctl addbr br0', 'equivalent', 'qkvm net define br0 --mode isolated --bridge br0', /creates an empty Linux bridge named br0/],
  ['brctl addif br0 eth0', 'equivalent', 'qkvm net bridge-setup br0 --uplink eth0', /adds the interface eth0 to the bridge br0/],
  ['brctl addif br0 tap0', 'none', undefined, /creates a tap for each NIC/],
  ['brctl show', 'equivalent', 'qkvm net list', /lists the bridges/],
  ['brctl stp br0 on', 'none', undefined, /spanning tree/],
  ['brctl addbridge br0', 'unknown', undefined, /not a line qkvm knows: brctl addbridge/],
]);

cases('tunctl', [
  ['tunctl -t tap0 -u alice', 'none', undefined, /persistent tap device tap0 owned by user alice/],
  ['tunctl -d tap0', 'none', undefined, /deletes the persistent tap tap0/],
  ['tunctl --tap tap0', 'unknown', undefined, /tunctl --tap/],
]);

cases('ip', [
  ['ip link add name br0 type bridge', 'equivalent', 'qkvm net define br0 --mode isolated --bridge br0', /Linux bridge named br0/],
  ['ip link set eth0 master br0', 'equivalent', 'qkvm net bridge-setup br0 --uplink eth0', /adds eth0 to the bridge br0/],
  ['ip link set dev br0 up', 'none', undefined, /brings the interface br0 up/],
  ['ip addr add 10.10.0.1/24 dev br1', 'equivalent', 'qkvm net define br1 --mode isolated --subnet 10.10.0.0/24 --bridge br1', /address 10.10.0.1\/24/],
  ['ip a', 'none', undefined, /IP addresses/],
  ['ip route add default via 192.168.1.1', 'none', undefined, /changes no host routes/],
  ['ip netns add lab', 'none', undefined, /network namespace lab/],
  ['ip tuntap add dev tap0 mode tap user bob', 'none', undefined, /persistent tap device tap0 owned by bob/],
  ['ip xfrm state', 'unknown', undefined, /not a line qkvm knows: ip xfrm/],
  ['ip link frob br0', 'unknown', undefined, /not a line qkvm knows: ip link frob/],
]);

cases('iptables', [
  ['iptables -t nat -A POSTROUTING -s 192.168.122.0/24 -o eth0 -j MASQUERADE', 'equivalent', 'qkvm net define nat0 --mode nat --subnet 192.168.122.0/24 --uplink eth0', /masquerades/],
  ['iptables -t nat -A PREROUTING -p tcp --dport 2222 -j DNAT --to-destination 192.168.122.10:22', 'none', undefined, /forwards the host's port 2222 to 192.168.122.10:22/],
  ['iptables -t nat -L -n -v', 'none', undefined, /lists the rules of the nat table/],
  ['iptables -A FORWARD -i br0 -j ACCEPT', 'none', undefined, /forwarded traffic/],
  ['iptables -t mangle -A OUTPUT -j MARK --set-mark 1', 'unknown', undefined, /not a line qkvm knows: iptables/],
]);

cases('nft', [
  ['nft list ruleset', 'none', undefined, /lists nftables ruleset/],
  ['nft add rule ip nat postrouting oifname eth0 masquerade', 'none', undefined, /masquerades/],
  ['nft monitor', 'unknown', undefined, /not a line qkvm knows: nft monitor/],
]);

cases('ovs-vsctl', [
  ['ovs-vsctl add-br ovsbr0', 'none', undefined, /Open vSwitch bridge ovsbr0.*Linux bridges, not Open vSwitch/],
  ['ovs-vsctl add-port ovsbr0 eth0', 'none', undefined, /adds port eth0/],
  ['ovs-vsctl show', 'none', undefined, /Open vSwitch configuration/],
  ['ovs-vsctl set-controller ovsbr0 tcp:1.2.3.4', 'unknown', undefined, /not a line qkvm knows: ovs-vsctl set-controller/],
]);

cases('host checks', [
  ["egrep -c '(vmx|svm)' /proc/cpuinfo", 'equivalent', 'qkvm doctor', /vmx \(Intel VT-x\) or svm/],
  ['grep -E --color "vmx|svm" /proc/cpuinfo', 'equivalent', 'qkvm doctor', /vmx/],
  ['cat /proc/cpuinfo | grep vmx', 'equivalent', 'qkvm doctor', /vmx/],
  ['grep -i error /var/log/syslog', 'unknown', undefined, /not a line qkvm knows: grep/],
  ['lsmod | grep kvm', 'equivalent', 'qkvm doctor', /kvm_intel or kvm_amd/],
  ['lsmod', 'unknown', undefined, /not a line qkvm knows: lsmod/],
  ['kvm-ok', 'equivalent', 'qkvm doctor', /\/dev\/kvm/],
  ['kvm-ok --verbose', 'unknown', undefined, /kvm-ok --verbose/],
  ['virt-host-validate qemu', 'equivalent', 'qkvm doctor', /libvirt's hypervisors/],
  ['virt-host-validate --frob', 'unknown', undefined, /virt-host-validate --frob/],
  ['modprobe kvm_intel nested=1', 'unknown', undefined, /modprobe/],
  ['modprobe kvm_amd', 'none', undefined, /loads the kernel module kvm_amd \(KVM for AMD-V\)/],
  ['modprobe vhost_net', 'none', undefined, /\/dev\/vhost-net/],
  ['modprobe nvidia', 'unknown', undefined, /not a line qkvm knows: modprobe nvidia/],
]);

cases('host settings', [
  ['systemctl start libvirtd', 'none', undefined, /needs no daemon/],
  ['systemctl enable --now libvirtd', 'none', undefined, /autostart/],
  ['systemctl restart nginx', 'unknown', undefined, /not a line qkvm knows: systemctl restart/],
  ['echo 1 > /proc/sys/net/ipv4/ip_forward', 'none', undefined, /turns on IPv4 forwarding.*turns forwarding on itself/],
  ['echo 1 | sudo tee /proc/sys/net/ipv4/ip_forward', 'none', undefined, /IPv4 forwarding/],
  ['echo "net.ipv4.ip_forward = 1" >> /etc/sysctl.conf', 'none', undefined, /after a reboot/],
  ['echo 2 > /sys/kernel/mm/ksm/run', 'none', undefined, /unmerges every merged page/],
  ['echo hello > /tmp/x', 'unknown', undefined, /not a line qkvm knows: echo hello/],
  ['sysctl -w net.ipv4.ip_forward=1', 'none', undefined, /IPv4 forwarding/],
  ['sysctl -w kernel.panic=10', 'unknown', undefined, /not a line qkvm knows: sysctl/],
  ['mount -t nfs srv:/x /mnt', 'unknown', undefined, /not a line qkvm knows: mount/],
]);

cases('host features, where qkvm has the host group', [
  ['sysctl -w vm.nr_hugepages=512', 'equivalent', 'qkvm host hugepages reserve 512', /reserves 512 huge pages/],
  ['echo 1024 > /proc/sys/vm/nr_hugepages', 'equivalent', 'qkvm host hugepages reserve 1024', /reserves 1024 huge pages/],
  ['mount -t hugetlbfs none /mnt/huge', 'equivalent', 'qkvm host hugepages mount /mnt/huge', /hugetlbfs file system at \/mnt\/huge/],
  ['echo 1 > /sys/kernel/mm/ksm/run', 'equivalent', 'qkvm host ksm on', /turns KSM on/],
  ['echo 0 > /sys/kernel/mm/ksm/run', 'equivalent', 'qkvm host ksm off', /turns KSM off/],
  ['echo 2 > /sys/kernel/mm/ksm/run', 'none', undefined, /unmerges/],
  ['echo 100 > /sys/kernel/mm/ksm/pages_to_scan', 'none', undefined, /KSM tunable pages_to_scan to 100/],
], withVerb('host'));

describe('host features, where qkvm has no host group', () => {
  it('names the qkvm host line it would be', () => {
    const e = one('sysctl -w vm.nr_hugepages=512', without('host'));
    expect(e).toMatchObject({ verdict: 'none', refused: { qkvm: 'qkvm host hugepages reserve 512', error: 'qkvm has no host command' } });
    expect(one('echo 1 > /sys/kernel/mm/ksm/run', without('host')).refused?.qkvm).toBe('qkvm host ksm on');
  });
});

cases('packages and groups', [
  ['apt-get install -y qemu-kvm libvirt-daemon-system bridge-utils', 'none', undefined, /QEMU itself: qkvm needs it.*libvirt stack: qkvm does not need it.*brctl/],
  ['yum install qemu-kvm libvirt virt-install', 'none', undefined, /installs qemu-kvm, libvirt, virt-install/],
  ['apt-get remove qemu-kvm', 'unknown', undefined, /not a line qkvm knows: apt-get remove/],
  ['usermod -aG libvirt alice', 'none', undefined, /adds user alice to the group\(s\) libvirt/],
  ['adduser alice kvm', 'none', undefined, /\/dev\/kvm/],
  ['usermod -s /bin/zsh alice', 'unknown', undefined, /not a line qkvm knows: usermod/],
]);

cases('anything else', [
  ['dhclient br0', 'unknown', undefined, /not a line qkvm knows: dhclient/],
  ['rm -rf /var/lib/libvirt/images', 'unknown', undefined, /not a line qkvm knows: rm/],
  ['$ sudo -E nmcli con add type bridge', 'unknown', undefined, /not a line qkvm knows: nmcli/],
]);

