#!/usr/bin/python3
# usbemu harness: emulated USB devices for admit's tests.
#
#   harness.py [--] PROGRAM [ARGS...]
#
# Builds a libumockdev testbed, runs PROGRAM in it (LD_PRELOAD of
# libumockdev-preload, UMOCKDEV_DIR set) and answers every usbdevfs ioctl
# PROGRAM's libusb sends to the emulated devices. PROGRAM drives the harness
# over a Unix socket inherited as the file descriptor named by
# $ADMIT_USBEMU_FD: one JSON object a line each way, a request then its
# answer. The exit status is PROGRAM's; 77 means the emulation cannot run on
# this machine (the reason is on stderr).
#
# The Go side (harness.go) owns the device descriptions and the protocol;
# this file emulates the kernel: usbfs, the usbhid driver binding, HID
# keyboard scanners and "USBRelay" HID relay boards.

import collections
import ctypes
import errno
import gc
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback

EXIT_UNAVAILABLE = 77


def unavailable(reason):
    """Exit with EXIT_UNAVAILABLE, telling the Go side why."""
    path = os.environ.get("ADMIT_USBEMU_STATUS")
    if path:
        with open(path, "w") as f:
            f.write(reason)
    else:
        sys.stderr.write("usbemu: emulated USB unavailable: %s\n" % reason)
    sys.exit(EXIT_UNAVAILABLE)


try:
    import gi

    gi.require_version("UMockdev", "1.0")
    from gi.repository import GLib, UMockdev
except (ImportError, ValueError) as e:
    unavailable("python3-gi with gir1.2-umockdev-1.0 is needed (%s)" % e)

PRELOAD = "libumockdev-preload.so.0"
DEBUG = os.environ.get("ADMIT_USBEMU_DEBUG", "") not in ("", "0")


def debug(fmt, *args):
    if DEBUG:
        sys.stderr.write("usbemu: " + (fmt % args) + "\n")


def find_preload():
    dirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib"]
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
        if PRELOAD in out:
            return True
    except (OSError, subprocess.SubprocessError):
        pass
    return any(os.path.exists(os.path.join(d, PRELOAD)) for d in dirs)


# usbdevfs ioctls (linux/usbdevice_fs.h, 64-bit layouts).
USBDEVFS_CONTROL = 0xC0185500
USBDEVFS_SETINTERFACE = 0x80085504
USBDEVFS_SETCONFIGURATION = 0x80045505
USBDEVFS_GETDRIVER = 0x41045508
USBDEVFS_SUBMITURB = 0x8038550A
USBDEVFS_DISCARDURB = 0x0000550B
USBDEVFS_REAPURB = 0x4008550C
USBDEVFS_REAPURBNDELAY = 0x4008550D
USBDEVFS_CLAIMINTERFACE = 0x8004550F
USBDEVFS_RELEASEINTERFACE = 0x80045510
USBDEVFS_IOCTL = 0xC0105512
USBDEVFS_RESET = 0x00005514
USBDEVFS_CLEAR_HALT = 0x80045515
USBDEVFS_DISCONNECT = 0x00005516
USBDEVFS_CONNECT = 0x00005517
USBDEVFS_GET_CAPABILITIES = 0x8004551A
USBDEVFS_DISCONNECT_CLAIM = 0x8108551B
USBDEVFS_GET_SPEED = 0x0000551F
RESETEP = 0x80045503

IOCTL_NAMES = {v: k for k, v in list(globals().items()) if k.startswith("USBDEVFS_")}

CAP_ZERO_PACKET = 0x01
CAP_BULK_CONTINUATION = 0x02
CAP_NO_PACKET_SIZE_LIM = 0x04
CAP_REAP_AFTER_DISCONNECT = 0x10

DISCONNECT_CLAIM_IF_DRIVER = 0x01
DISCONNECT_CLAIM_EXCEPT_DRIVER = 0x02

URB_TYPE_INTERRUPT = 1
URB_TYPE_CONTROL = 2
URB_TYPE_BULK = 3

# struct usbdevfs_urb offsets
URB_SIZE = 56
URB_STATUS = 4
URB_BUFFER = 16
URB_ACTUAL_LENGTH = 28

PAGE = 4096


class Urb:
    """One submitted URB, kept until the program reaps it."""

    def __init__(self, client, addr, data, buf, utype, endpoint, length):
        self.client = client
        self.addr = addr
        self.data = data  # UMockdev.IoctlData of the struct
        self.buf = buf  # UMockdev.IoctlData of the buffer, or None
        self.type = utype
        self.endpoint = endpoint
        self.length = length


class Client:
    """One open file of a device node (one libusb device handle)."""

    def __init__(self, ioctl_client):
        self.ioctl_client = ioctl_client
        self.completed = collections.deque()
        self.claimed = set()


class Node:
    """One plug-in of a device: its /dev node, ioctl handler and clients.

    The node is a FIFO the harness keeps full while the program has nothing
    to reap and drains a page of when an URB completes, so the program's
    poll() for POLLOUT (how libusb waits for completions) sleeps instead of
    spinning on an always-ready regular file."""

    def __init__(self, bus, dev, syspath, devnode):
        self.bus = bus
        self.dev = dev
        self.syspath = syspath
        self.devnode = devnode
        self.present = True
        self.clients = {}
        self.pending = []  # Urbs the device has not answered yet
        self.handler = Handler(self)
        self.fifo = -1
        self.awake = True
        self.reaps = 0  # reap ioctls answered: a program that spins shows here
        self.removed = False

    def make_fifo(self):
        # The harness runs under libumockdev's preload too, which takes an
        # open() of a testbed device node for a program's and connects it to
        # the node's ioctl socket: open the FIFO under a private name, then
        # move it over the node.
        private = os.path.join(self.bus.root, ".usbemu-fifo-%d" % id(self))
        os.mkfifo(private, 0o666)
        self.fifo = os.open(private, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self.sleep()
        path = self.bus.root + self.devnode
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.rename(private, path)

    def sleep(self):
        if not self.awake or self.fifo < 0:
            return
        chunk = b"\0" * PAGE
        while True:
            try:
                os.write(self.fifo, chunk)
            except BlockingIOError:
                break
        self.awake = False

    def wake(self):
        if self.awake or self.fifo < 0:
            return
        os.read(self.fifo, PAGE)
        self.awake = True

    def sync(self):
        if any(c.completed for c in self.clients.values()):
            self.wake()
        else:
            self.sleep()

    def close(self):
        if self.fifo >= 0:
            os.close(self.fifo)
            self.fifo = -1

    def client(self, ioctl_client):
        c = self.clients.get(ioctl_client)
        if c is None:
            c = Client(ioctl_client)
            self.clients[ioctl_client] = c
            self.bus.log(self.dev, "open", devnode=self.devnode)
        return c

    def vanished(self, ioctl_client):
        c = self.clients.pop(ioctl_client, None)
        if c is None:
            return
        self.pending = [u for u in self.pending if u.client is not c]
        for i in list(c.claimed):
            self.dev.release(c, i)
        self.bus.log(self.dev, "close", devnode=self.devnode)
        if not self.present and not self.clients:
            self.close()
            if self in self.bus.orphans:
                self.bus.orphans.remove(self)
            return
        self.sync()

    def complete(self, urb, status, payload=b""):
        if urb in self.pending:
            self.pending.remove(urb)
        if payload and urb.buf is not None:
            off = 8 if urb.type == URB_TYPE_CONTROL else 0
            payload = payload[: max(0, urb.length - off)]
            urb.buf.update(off, list(payload))
        actual = len(payload)
        urb.data.update(URB_STATUS, list(struct.pack("<i", status)))
        urb.data.update(URB_ACTUAL_LENGTH, list(struct.pack("<i", actual)))
        urb.client.completed.append(urb)
        self.sync()

    def unplug(self):
        self.present = False
        for urb in list(self.pending):
            self.complete(urb, -errno.ESHUTDOWN)
        if not self.clients:
            self.close()

    def remove(self):
        """Take the device out of the testbed, once."""
        if not self.removed:
            self.removed = True
            self.bus.testbed.remove_device(self.syspath)

    # --- ioctls -------------------------------------------------------

    def ioctl(self, ic):
        req = ic.get_request()
        arg = ic.get_arg()
        c = self.client(ic)
        debug("%s %s", self.devnode, IOCTL_NAMES.get(req, hex(req)))
        if req in (USBDEVFS_REAPURBNDELAY, USBDEVFS_REAPURB):
            return self.reap(ic, c, arg)
        if not self.present:
            return fail(ic, errno.ENODEV)
        dev = self.dev
        if req == USBDEVFS_GET_CAPABILITIES:
            caps = CAP_ZERO_PACKET | CAP_BULK_CONTINUATION | CAP_NO_PACKET_SIZE_LIM | CAP_REAP_AFTER_DISCONNECT
            arg.resolve(0, 4).update(0, list(struct.pack("<I", caps)))
            return ok(ic)
        if req == USBDEVFS_GET_SPEED:
            return ok(ic, dev.speed_code)
        if req == USBDEVFS_GETDRIVER:
            d = arg.resolve(0, 260)
            (intf,) = struct.unpack_from("<I", bytes(d.retrieve()))
            self.bus.log(dev, "getdriver", interface=intf, driver=dev.driver or "")
            if intf >= dev.interfaces:
                return fail(ic, errno.EINVAL)
            if not dev.driver:
                return fail(ic, errno.ENODATA)
            d.update(4, list(dev.driver.encode() + b"\0"))
            return ok(ic)
        if req == USBDEVFS_IOCTL:
            d = arg.resolve(0, 16)
            ifno, code = struct.unpack_from("<ii", bytes(d.retrieve()))
            if code == USBDEVFS_DISCONNECT:
                if not dev.driver:
                    self.bus.log(dev, "detach", interface=ifno, result="no driver")
                    return fail(ic, errno.ENODATA)
                if dev.hold_driver:
                    self.bus.log(dev, "detach", interface=ifno, result="refused")
                    return fail(ic, errno.EPERM)
                self.bus.log(dev, "detach", interface=ifno, driver=dev.driver, result="ok")
                dev.driver = ""
                return ok(ic)
            if code == USBDEVFS_CONNECT:
                if dev.claimed is not None:
                    return fail(ic, errno.EBUSY)
                dev.driver = dev.kernel_driver
                self.bus.log(dev, "attach", interface=ifno, driver=dev.driver)
                return ok(ic)
            return fail(ic, errno.ENOTTY)
        if req == USBDEVFS_DISCONNECT_CLAIM:
            d = arg.resolve(0, 264)
            raw = bytes(d.retrieve())
            intf, flags = struct.unpack_from("<II", raw)
            name = raw[8:].split(b"\0", 1)[0].decode(errors="replace")
            if dev.driver:
                keep = (flags & DISCONNECT_CLAIM_IF_DRIVER and dev.driver != name) or (
                    flags & DISCONNECT_CLAIM_EXCEPT_DRIVER and dev.driver == name
                )
                if not keep:
                    if dev.hold_driver:
                        self.bus.log(dev, "detach", interface=intf, result="refused")
                        return fail(ic, errno.EPERM)
                    self.bus.log(dev, "detach", interface=intf, driver=dev.driver, result="ok")
                    dev.driver = ""
            return self.claim(ic, c, intf)
        if req == USBDEVFS_CLAIMINTERFACE:
            (intf,) = struct.unpack("<I", bytes(arg.resolve(0, 4).retrieve()))
            return self.claim(ic, c, intf)
        if req == USBDEVFS_RELEASEINTERFACE:
            (intf,) = struct.unpack("<I", bytes(arg.resolve(0, 4).retrieve()))
            if intf not in c.claimed:
                return fail(ic, errno.EINVAL)
            dev.release(c, intf)
            return ok(ic)
        if req == USBDEVFS_SETCONFIGURATION:
            (cfg,) = struct.unpack("<i", bytes(arg.resolve(0, 4).retrieve()))
            busy = dev.driver or (dev.claimed is not None and dev.claimed is not c)
            self.bus.log(dev, "setconfig", config=cfg, result="busy" if busy else "ok")
            return fail(ic, errno.EBUSY) if busy else ok(ic)
        if req in (USBDEVFS_SETINTERFACE, USBDEVFS_CLEAR_HALT, RESETEP):
            return ok(ic)
        if req == USBDEVFS_RESET:
            self.bus.log(dev, "reset")
            return ok(ic)
        if req == USBDEVFS_SUBMITURB:
            return self.submit(ic, c, arg)
        if req == USBDEVFS_DISCARDURB:
            (addr,) = struct.unpack("<Q", bytes(arg.retrieve())[:8])
            for urb in self.pending:
                if urb.addr == addr and urb.client is c:
                    self.bus.log(dev, "discard", endpoint=urb.endpoint)
                    self.complete(urb, -errno.ENOENT)
                    return ok(ic)
            return fail(ic, errno.EINVAL)
        if req == USBDEVFS_CONTROL:
            # libusb sends control transfers as URBs; a synchronous one is
            # not something this harness expects.
            self.bus.log(dev, "unsupported", request=IOCTL_NAMES.get(req, hex(req)))
            return fail(ic, errno.ENOTTY)
        self.bus.log(dev, "unsupported", request=hex(req))
        return fail(ic, errno.ENOTTY)

    def claim(self, ic, c, intf):
        dev = self.dev
        if intf >= dev.interfaces:
            return fail(ic, errno.ENOENT)
        if dev.driver:
            self.bus.log(dev, "claim", interface=intf, result="busy", driver=dev.driver)
            return fail(ic, errno.EBUSY)
        if dev.claimed is not None and dev.claimed is not c:
            self.bus.log(dev, "claim", interface=intf, result="busy", driver="usbfs")
            return fail(ic, errno.EBUSY)
        dev.claimed = c
        c.claimed.add(intf)
        self.bus.log(dev, "claim", interface=intf, result="ok")
        return ok(ic)

    def submit(self, ic, c, arg):
        (addr,) = struct.unpack("<Q", bytes(arg.retrieve())[:8])
        data = arg.resolve(0, URB_SIZE)
        raw = bytes(data.retrieve())
        utype, endpoint = raw[0], raw[1]
        (length,) = struct.unpack_from("<i", raw, 24)
        buf = data.resolve(URB_BUFFER, length) if length > 0 else None
        urb = Urb(c, addr, data, buf, utype, endpoint, length)
        dev = self.dev
        if utype == URB_TYPE_CONTROL:
            if buf is None or length < 8:
                return fail(ic, errno.EINVAL)
            payload = bytes(buf.retrieve())
            rtype, _, _, index = struct.unpack_from("<BBHH", payload)
            if rtype & 0x1F == 1 and rtype & 0x60 != 0x40 and (index & 0xFF) not in c.claimed:
                # usbfs claims the interface of an interface request for the
                # caller, which fails while another driver holds it.
                intf = index & 0xFF
                if intf >= dev.interfaces:
                    return fail(ic, errno.EINVAL)
                if dev.driver or (dev.claimed is not None and dev.claimed is not c):
                    self.bus.log(dev, "claim", interface=intf, result="busy", driver=dev.driver or "usbfs", implicit=True)
                    return fail(ic, errno.EBUSY)
                dev.claimed = c
                c.claimed.add(intf)
                self.bus.log(dev, "claim", interface=intf, result="ok", implicit=True)
            self.pending.append(urb)
            ok(ic)
            dev.control(self, urb, payload[:8], payload[8:])
            return True
        if utype in (URB_TYPE_INTERRUPT, URB_TYPE_BULK):
            if endpoint & 0x80 == 0:
                ok(ic)
                self.bus.log(dev, "out", endpoint=endpoint, data=bytes(buf.retrieve()).hex() if buf else "")
                self.pending.append(urb)
                self.complete(urb, 0, b"")
                urb.data.update(URB_ACTUAL_LENGTH, list(struct.pack("<i", length)))
                return True
            if dev.claimed is not c:
                return fail(ic, errno.EBUSY if dev.driver else errno.EINVAL)
            self.pending.append(urb)
            ok(ic)
            dev.deliver()
            return True
        return fail(ic, errno.EINVAL)

    def reap(self, ic, c, arg):
        self.reaps += 1
        if not c.completed:
            r = fail(ic, errno.EAGAIN if self.present else errno.ENODEV)
            self.sync()
            return r
        urb = c.completed.popleft()
        slot = arg.resolve(0, 8)
        slot.set_ptr(0, urb.data)
        ok(ic)
        self.sync()
        return True


def ok(ic, result=0):
    ic.complete(result, 0)
    return True


def fail(ic, err):
    ic.complete(-1, err)
    return True


class Handler(UMockdev.IoctlBase):
    def __init__(self, node):
        super().__init__()
        self.node = node

    def do_client_connected(self, ic):
        self.node.client(ic)

    def do_client_vanished(self, ic):
        self.node.vanished(ic)

    def do_handle_ioctl(self, ic):
        try:
            return self.node.ioctl(ic)
        except Exception:
            traceback.print_exc()
            ic.complete(-1, errno.EIO)
            return True


def string_descriptor(s):
    raw = s.encode("utf-16-le")[:252]
    return bytes([2 + len(raw), 3]) + raw


class Device:
    """An emulated USB device on one port, across its plug-ins."""

    def __init__(self, bus, spec):
        self.bus = bus
        self.port = spec["port"]
        self.kind = spec["kind"]
        self.strings = spec.get("strings") or []
        self.report_descriptor = bytes.fromhex(spec.get("report_descriptor", ""))
        self.kernel_driver = spec.get("driver", "usbhid")
        self.interfaces = spec.get("interfaces", 1)
        self.relay_serial = spec.get("relay_serial", "")
        self.relay_channels = spec.get("relay_channels", 0)
        self.relay_state = 0
        self.fault = "none"
        self.hold_driver = False
        self.reports = collections.deque()
        self.delay_timer = 0
        self.node = None
        self.driver = ""
        self.claimed = None
        self.descriptors = b""
        self.speed_code = 0
        self.text = ""

    def plug(self, text):
        syspath = devnode = None
        desc = b""
        speed = ""
        for line in text.splitlines():
            if line.startswith("P: "):
                syspath = "/sys" + line[3:].strip()
            elif line.startswith("N: "):
                devnode = "/dev/" + line[3:].strip()
            elif line.startswith("H: descriptors="):
                desc = bytes.fromhex(line.split("=", 1)[1].strip())
            elif line.startswith("A: speed="):
                speed = line.split("=", 1)[1].replace("\\n", "").strip()
        if not syspath or not devnode or len(desc) < 18:
            raise ValueError("device description needs P:, N: and H: descriptors=")
        self.text = text
        self.descriptors = desc
        self.speed_code = {"1.5": 1, "12": 2, "480": 3, "5000": 5}.get(speed, 0)
        node = Node(self.bus, self, syspath, devnode)
        # Every node and its handler live as long as the harness: the
        # testbed keeps the handler's socket listening for handles opened
        # before an unplug, and a handler Python dropped would take its
        # clients down with it.
        self.bus.nodes.append(node)
        # A program may find the device the moment it is in sysfs (a libusb
        # context starting scans sysfs): its ioctl socket and its node
        # come first, and the testbed does not make a node of its own.
        if not self.bus.testbed.attach_ioctl(devnode, node.handler):
            raise ValueError("cannot attach the ioctl handler to %s" % devnode)
        node.make_fifo()
        sysfs = "\n".join(l for l in text.splitlines() if not l.startswith("N: ")) + "\n"
        if not self.bus.testbed.add_from_string(sysfs):
            raise ValueError("testbed refused the device description")
        self.node = node
        self.driver = self.kernel_driver
        self.claimed = None
        self.relay_state = 0
        self.reports.clear()
        self.bus.testbed.uevent(syspath, "add")
        self.bus.log(self, "plug", devnode=devnode)

    def unplug(self):
        node = self.node
        if node is None:
            return
        self.node = None
        self.driver = ""
        self.claimed = None
        self.reports.clear()
        # Gone from /dev first, so that a program reacting to its failed
        # transfers cannot open the node of a device being removed; then
        # from sysfs and libusb's hot-plug monitor; then the transfers fail.
        # Gone from /dev first, so that a program reacting to the failed
        # transfers cannot open the node of a device being removed; then the
        # transfers fail as usbfs fails them, and the device leaves sysfs
        # and libusb's hot-plug monitor. Handles still open get ENODEV.
        try:
            os.unlink(self.bus.root + node.devnode)
        except FileNotFoundError:
            pass
        node.unplug()
        self.bus.testbed.uevent(node.syspath, "remove")
        node.remove()
        if node.clients:
            self.bus.orphans.append(node)
        self.bus.log(self, "unplug", devnode=node.devnode)

    def release(self, c, intf):
        c.claimed.discard(intf)
        if self.claimed is c and not c.claimed:
            self.claimed = None
        self.bus.log(self, "release", interface=intf)

    def state(self):
        node = self.node
        return {
            "port": self.port,
            "plugged": node is not None,
            "devnode": node.devnode if node else "",
            "driver": self.driver,
            "claimed": self.claimed is not None,
            "open": len(node.clients) if node else 0,
            "pending_urbs": len(node.pending) if node else 0,
            "queued_reports": len(self.reports),
            "reaps": node.reaps if node else 0,
            "relay_serial": self.relay_serial,
            "relay_state": self.relay_state,
            "fault": self.fault,
        }

    # --- interrupt IN: scanner reports --------------------------------

    def queue(self, reports, gap_ms):
        for i, r in enumerate(reports):
            self.reports.append([r, gap_ms if i > 0 else 0])
        self.deliver()

    def deliver(self):
        node = self.node
        if node is None:
            return
        while self.reports:
            urb = next((u for u in node.pending if u.type != URB_TYPE_CONTROL and u.endpoint & 0x80), None)
            if urb is None:
                return
            head = self.reports[0]
            if head[1] > 0:
                if not self.delay_timer:
                    self.delay_timer = GLib.timeout_add(head[1], self.delay_done)
                return
            self.reports.popleft()
            self.bus.log(self, "in", endpoint=urb.endpoint, data=head[0].hex())
            node.complete(urb, 0, head[0])
            if self.reports and self.reports[0][1] > 0:
                return self.deliver()

    def delay_done(self):
        self.delay_timer = 0
        if self.reports:
            self.reports[0][1] = 0
        self.deliver()
        return False

    # --- control transfers --------------------------------------------

    def control(self, node, urb, setup, data):
        rtype, req, value, index, length = struct.unpack("<BBHHH", setup)
        entry = {"request_type": rtype, "request": req, "value": value, "index": index, "length": length}
        if rtype & 0x80 == 0:
            entry["data"] = data[:length].hex()
        if self.fault == "silent" and self.kind == "relay" and rtype & 0x60 == 0x20:
            entry["result"] = "no answer"
            self.bus.log(self, "control", **entry)
            return  # the URB stays pending until discarded
        status, answer = self.answer(rtype, req, value, index, length, data[:length])
        entry["result"] = "ok" if status == 0 else "stall"
        if answer is not None:
            entry["answer"] = answer.hex()
        self.bus.log(self, "control", **entry)
        if status == 0 and rtype & 0x80 == 0:
            node.complete(urb, 0, b"")
            urb.data.update(URB_ACTUAL_LENGTH, list(struct.pack("<i", length)))
            return
        node.complete(urb, status, answer or b"")

    def answer(self, rtype, req, value, index, length, data):
        stall = (-errno.EPIPE, None)
        if rtype == 0x80 and req == 6:  # GET_DESCRIPTOR
            dtype, didx = value >> 8, value & 0xFF
            if dtype == 1:
                return 0, self.descriptors[:18][:length]
            if dtype == 2:
                return 0, self.descriptors[18:][:length]
            if dtype == 3:
                if didx == 0:
                    return 0, b"\x04\x03\x09\x04"[:length]
                if didx <= len(self.strings) and self.strings[didx - 1]:
                    return 0, string_descriptor(self.strings[didx - 1])[:length]
            return stall
        if rtype == 0x80 and req == 0:  # GET_STATUS
            return 0, b"\0\0"[:length]
        if rtype == 0x81 and req == 6 and value >> 8 == 0x22:  # HID report descriptor
            if self.report_descriptor:
                return 0, self.report_descriptor[:length]
            return stall
        if rtype == 0x21 and req in (0x0A, 0x0B):  # SET_IDLE, SET_PROTOCOL
            return 0, None
        if self.kind == "relay":
            return self.relay(rtype, req, value, length, data)
        return stall

    def relay(self, rtype, req, value, length, data):
        stall = (-errno.EPIPE, None)
        if rtype == 0x21 and req == 0x09 and value == 0x0300:  # SET_REPORT feature
            if self.fault == "stall":
                return stall
            if len(data) < 2:
                return stall
            if self.fault == "ignore":
                return 0, None
            cmd, ch = data[0], data[1]
            every = (1 << self.relay_channels) - 1
            if cmd == 0xFF and 1 <= ch <= self.relay_channels:
                self.relay_state |= 1 << (ch - 1)
            elif cmd == 0xFD and 1 <= ch <= self.relay_channels:
                self.relay_state &= ~(1 << (ch - 1))
            elif cmd == 0xFE:
                self.relay_state = every
            elif cmd == 0xFC:
                self.relay_state = 0
            elif cmd == 0xFA and len(data) >= 6:
                self.relay_serial = data[1:6].decode("ascii", "replace")
            return 0, None
        if rtype == 0xA1 and req == 0x01 and value == 0x0300:  # GET_REPORT feature
            state = self.relay_state
            if self.fault == "wrong":
                state ^= 0x01
            serial = self.relay_serial.encode("ascii", "replace")[:5].ljust(5, b"\0")
            return 0, (serial + b"\0\0" + bytes([state & 0xFF]))[:length]
        return stall


class Bus:
    """The testbed, its devices, the request log and the control socket."""

    def __init__(self, testbed, sock, loop):
        self.testbed = testbed
        self.root = testbed.get_root_dir()
        self.sock = sock
        self.loop = loop
        self.devices = {}
        self.orphans = []
        self.nodes = []
        self.entries = []
        self.seq = 0
        self.inbuf = b""
        self.started = time.monotonic()

    def log(self, dev, op, **detail):
        self.seq += 1
        since = time.monotonic() - self.started
        entry = {"seq": self.seq, "ms": int(since * 1000), "us": int(since * 1000000), "port": dev.port, "op": op}
        entry.update(detail)
        self.entries.append(entry)
        if DEBUG:
            debug("log %s", json.dumps(entry))

    def on_control(self, fd, cond):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            return False  # the program closed its end; it is exiting
        self.inbuf += data
        while b"\n" in self.inbuf:
            line, self.inbuf = self.inbuf.split(b"\n", 1)
            try:
                answer = self.command(json.loads(line))
                answer["ok"] = True
            except Exception as e:  # report, never die: the test asserts on it
                if DEBUG:
                    traceback.print_exc()
                answer = {"ok": False, "error": str(e) or e.__class__.__name__}
            self.sock.setblocking(True)
            self.sock.sendall(json.dumps(answer).encode() + b"\n")
            self.sock.setblocking(False)
        return True

    def device(self, req):
        dev = self.devices.get(req.get("port", ""))
        if dev is None:
            raise KeyError("no device on port %r" % req.get("port"))
        return dev

    def command(self, req):
        op = req.get("op")
        if op == "add":
            if req["port"] in self.devices:
                raise ValueError("port %s already has a device" % req["port"])
            dev = Device(self, req)
            self.devices[dev.port] = dev
            dev.plug(req["umockdev"])
            return dev.state()
        if op == "plug":
            dev = self.device(req)
            if dev.node is not None:
                raise ValueError("device on port %s is plugged in already" % dev.port)
            dev.plug(req["umockdev"])
            return dev.state()
        if op == "unplug":
            dev = self.device(req)
            dev.unplug()
            return dev.state()
        if op == "remove":
            dev = self.device(req)
            dev.unplug()
            del self.devices[dev.port]
            return {}
        if op == "send":
            dev = self.device(req)
            if dev.node is None:
                raise ValueError("device on port %s is unplugged" % dev.port)
            dev.queue([bytes.fromhex(r) for r in req.get("reports", [])], int(req.get("gap_ms", 0)))
            return dev.state()
        if op == "fault":
            dev = self.device(req)
            dev.fault = req.get("mode", "none")
            return dev.state()
        if op == "hold_driver":
            dev = self.device(req)
            dev.hold_driver = bool(req.get("hold"))
            return dev.state()
        if op == "bind":
            dev = self.device(req)
            if dev.claimed is not None:
                raise ValueError("interface is claimed")
            dev.driver = dev.kernel_driver
            self.log(dev, "attach", driver=dev.driver, by="kernel")
            return dev.state()
        if op == "state":
            return self.device(req).state()
        if op == "log":
            after = int(req.get("after", 0))
            return {"entries": [e for e in self.entries if e["seq"] > after]}
        if op == "reset":
            for dev in list(self.devices.values()):
                dev.unplug()
            self.devices.clear()
            self.entries = []
            return {"seq": self.seq}
        raise ValueError("unknown op %r" % op)


def set_pdeathsig():
    libc = ctypes.CDLL(None)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def main(argv):
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.stderr.write("usage: harness.py [--] PROGRAM [ARGS...]\n")
        return 2
    if not find_preload():
        unavailable("%s not found (Debian package libumockdev0)" % PRELOAD)
    set_pdeathsig()

    testbed = UMockdev.Testbed.new()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.setblocking(False)
    env = dict(os.environ)
    env["UMOCKDEV_DIR"] = testbed.get_root_dir()
    env["LD_PRELOAD"] = " ".join(p for p in (PRELOAD, env.get("LD_PRELOAD", "")) if p)
    env["ADMIT_USBEMU_FD"] = str(theirs.fileno())

    loop = GLib.MainLoop()
    bus = Bus(testbed, ours, loop)
    status = {"code": 1}

    child = subprocess.Popen(argv, env=env, pass_fds=[theirs.fileno()], preexec_fn=set_pdeathsig)
    theirs.close()

    def on_exit(pid, wait_status):
        if os.WIFEXITED(wait_status):
            status["code"] = os.WEXITSTATUS(wait_status)
        elif os.WIFSIGNALED(wait_status):
            status["code"] = 128 + os.WTERMSIG(wait_status)
        loop.quit()

    def forward(signum):
        try:
            os.kill(child.pid, signum)
        except ProcessLookupError:
            pass
        return True

    GLib.child_watch_add(GLib.PRIORITY_DEFAULT, child.pid, on_exit)
    GLib.io_add_watch(ours.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, bus.on_control)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, s, forward, s)
    signal.signal(signal.SIGQUIT, lambda s, f: forward(s))
    loop.run()
    for node in bus.nodes:
        node.close()
    # The testbed's finalizer removes its directory, and fails (a GLib error
    # that aborts) when the directory is gone: drop the last references so it
    # runs now, then remove what is left, as Python does not promise to run
    # it at exit.
    root = testbed.get_root_dir()
    bus.testbed = None
    del bus, testbed
    gc.collect()
    shutil.rmtree(root, ignore_errors=True)
    return status["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
