// The remote_write load of the metrics benchmark: deterministic series modelled on what real
// exporters send, one host at a time: a node_exporter (CPU, memory, filesystems, network, disks,
// load) and an instrumented HTTP service (request counters, latency histograms with correlated
// buckets, process and Go runtime metrics), each with Prometheus's per-target scrape series.
// Value model per series (see docs/benchmarks.md): counters grow by Poisson-like integer steps at
// a per-series rate (many rates are ~0, so those counters stay flat for long stretches), CPU and
// I/O seconds grow in 0.01 s steps, gauges hold or move by a few units of their natural step
// (kB, pages, 0.01 for load averages), a few series are noisy floats every scrape (scrape
// durations in ns, GC quantiles, histogram sums, ratios), and constants stay constant. Each
// target is scraped at its own offset within the interval, on schedule (Prometheus aligns scrape
// times within 2 ms) except for 2 % of scrapes that run 3-20 ms late.
import { compressSync } from 'snappy';

/** Deterministic uniform [0, 1). */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

// Value models.
const CONST = 0; // a: value
const COUNT = 1; // a: events per second (integer steps); b: unit
const CENTI = 2; // a: seconds per second, counted in 0.01 s steps
const STEP = 3; // a: probability of a change per scrape; b: unit; c: largest step in units
const LOAD = 4; // a: mean level, two decimals, mean-reverting
const NOISE = 5; // a: typical seconds; a fresh duration every scrape, measured in ns as Go's time.Duration.Seconds() reports it
const BUCKET = 6; // cumulative histogram bucket: a = cdf at its bound (computed per group)
const HSUM = 7; // histogram sum: a = mean seconds per observation
const HCOUNT = 8; // histogram count: a = observations per second (drives its buckets and sum)
const FSUM = 9; // a float sum growing by about `a` every scrape (a summary's _sum)
const RATIO = 10; // a: typical value; an arbitrary float every scrape (a computed ratio)

const CPU_MODES = [
  ['idle', 0.82],
  ['iowait', 0.01],
  ['irq', 0],
  ['nice', 0],
  ['softirq', 0.004],
  ['steal', 0],
  ['system', 0.05],
  ['user', 0.11],
];
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
const LATENCY_CDF = [0.01, 0.05, 0.22, 0.5, 0.74, 0.9, 0.965, 0.988, 0.997, 0.9993, 0.9999, 1];
const ROUTES = [
  ['/api/orders', 'GET', 12],
  ['/api/orders', 'POST', 2],
  ['/api/products', 'GET', 25],
  ['/api/cart', 'PUT', 4],
  ['/healthz', 'GET', 0.2],
];
/** Share of scrapes that run late, beyond the 2 ms Prometheus aligns away. */
const LATE_SCRAPES = 0.02;
/** Seconds since the monitored processes started, for counters' starting values. */
const UPTIME_S = 2_500_000;
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'];

/** One host's series: [labels (without instance/job/region), model, a, b, c, target (0 node, 1 app)]. */
function hostTemplate() {
  const out = [];
  const node = (name, extra, model, a = 0, b = 1, c = 1) => out.push([{ __name__: name, ...extra }, model, a, b, c, 0]);
  const app = (name, extra, model, a = 0, b = 1, c = 1) => out.push([{ __name__: name, ...extra }, model, a, b, c, 1]);
  // node_exporter 1.x default collectors on a 4-CPU VM with two disks, eth0 and lo, five mounts.
  for (let cpu = 0; cpu < 4; cpu++) {
    for (const [mode, share] of CPU_MODES) node('node_cpu_seconds_total', { cpu: String(cpu), mode }, CENTI, share);
    for (const mode of ['guest', 'guest_nice']) node('node_cpu_guest_seconds_total', { cpu: String(cpu), mode }, CONST, 0);
    node('node_schedstat_running_seconds_total', { cpu: String(cpu) }, FSUM, 9);
    node('node_schedstat_waiting_seconds_total', { cpu: String(cpu) }, FSUM, 0.4);
    node('node_schedstat_timeslices_total', { cpu: String(cpu) }, COUNT, 400);
    node('node_softnet_processed_total', { cpu: String(cpu) }, COUNT, 30);
    node('node_softnet_dropped_total', { cpu: String(cpu) }, COUNT, 0);
    node('node_softnet_times_squeezed_total', { cpu: String(cpu) }, COUNT, 0.0002);
  }
  const memory = [
    ['MemTotal', CONST, 16_777_216], ['MemFree', STEP, 0.9, 4000], ['MemAvailable', STEP, 0.9, 4000], ['Buffers', STEP, 0.3, 64],
    ['Cached', STEP, 0.6, 2000], ['Active', STEP, 0.8, 2000], ['Inactive', STEP, 0.4, 1000], ['Dirty', STEP, 0.7, 200],
    ['Writeback', STEP, 0.02, 10], ['AnonPages', STEP, 0.8, 1000], ['Mapped', STEP, 0.2, 100], ['Shmem', STEP, 0.05, 20],
    ['Slab', STEP, 0.5, 50], ['SReclaimable', STEP, 0.4, 40], ['SUnreclaim', STEP, 0.3, 20], ['KernelStack', STEP, 0.2, 16],
    ['PageTables', STEP, 0.4, 20], ['Committed_AS', STEP, 0.5, 2000], ['VmallocUsed', STEP, 0.05, 8], ['Percpu', CONST, 4096],
    ['SwapTotal', CONST, 2_097_152], ['SwapFree', CONST, 2_097_152], ['SwapCached', CONST, 0], ['Mlocked', CONST, 0],
    ['Unevictable', CONST, 0], ['HugePages_Total', CONST, 0], ['HugePages_Free', CONST, 0], ['Hugepagesize', CONST, 2048],
    ['VmallocTotal', CONST, 34_359_738_367], ['Bounce', CONST, 0], ['NFS_Unstable', CONST, 0], ['WritebackTmp', CONST, 0],
  ];
  for (const [field, model, p, size] of memory) {
    if (model === CONST) node(`node_memory_${field}_bytes`, {}, CONST, p * 1024);
    else node(`node_memory_${field}_bytes`, {}, STEP, p, 1024, size);
  }
  const mounts = [
    ['/', '/dev/sda1', 'ext4', 0.5],
    ['/boot', '/dev/sda2', 'ext4', 0],
    ['/var', '/dev/sdb1', 'ext4', 0.3],
    ['/run', 'tmpfs', 'tmpfs', 0.05],
    ['/dev/shm', 'tmpfs', 'tmpfs', 0],
  ];
  for (const [mountpoint, device, fstype, busy] of mounts) {
    const fs = { device, fstype, mountpoint };
    node('node_filesystem_avail_bytes', fs, STEP, busy, 4096, 300);
    node('node_filesystem_free_bytes', fs, STEP, busy, 4096, 300);
    node('node_filesystem_size_bytes', fs, CONST, 107_374_182_400);
    node('node_filesystem_files', fs, CONST, 6_553_600);
    node('node_filesystem_files_free', fs, STEP, busy / 2, 1, 20);
    node('node_filesystem_readonly', fs, CONST, 0);
    node('node_filesystem_device_error', fs, CONST, 0);
  }
  for (const [device, scale] of [['eth0', 1], ['lo', 0.05]]) {
    for (const dir of ['receive', 'transmit']) {
      node(`node_network_${dir}_bytes_total`, { device }, COUNT, 60_000 * scale);
      node(`node_network_${dir}_packets_total`, { device }, COUNT, 90 * scale);
      node(`node_network_${dir}_errs_total`, { device }, COUNT, 0);
      node(`node_network_${dir}_drop_total`, { device }, COUNT, 0.0005 * scale);
      node(`node_network_${dir}_fifo_total`, { device }, COUNT, 0);
      node(`node_network_${dir}_compressed_total`, { device }, COUNT, 0);
      node(`node_network_${dir}_${dir === 'receive' ? 'frame' : 'colls'}_total`, { device }, COUNT, 0);
      node(`node_network_${dir}_${dir === 'receive' ? 'multicast' : 'carrier'}_total`, { device }, COUNT, dir === 'receive' ? 0.01 * scale : 0);
    }
    for (const [attr, value] of [['up', 1], ['carrier', 1], ['mtu_bytes', 1500], ['speed_bytes', 1_250_000_000], ['flags', 4099], ['iface_id', 2], ['dormant', 0], ['protocol_type', 1], ['transmit_queue_length', 1000], ['address_assign_type', 0]]) {
      node(`node_network_${attr}`, { device }, CONST, value);
    }
    node('node_network_info', { address: device === 'lo' ? '00:00:00:00:00:00' : '52:54:00:12:34:56', broadcast: 'ff:ff:ff:ff:ff:ff', device, duplex: 'full', operstate: 'up' }, CONST, 1);
    node('node_arp_entries', { device }, STEP, 0.01, 1, 1);
  }
  for (const [device, scale] of [['sda', 1], ['sdb', 0.01]]) {
    node('node_disk_reads_completed_total', { device }, COUNT, 0.3 * scale);
    node('node_disk_reads_merged_total', { device }, COUNT, 0.05 * scale);
    node('node_disk_read_bytes_total', { device }, COUNT, 2 * scale, 4096);
    node('node_disk_read_time_seconds_total', { device }, CENTI, 0.0005 * scale);
    node('node_disk_writes_completed_total', { device }, COUNT, 6 * scale);
    node('node_disk_writes_merged_total', { device }, COUNT, 3 * scale);
    node('node_disk_written_bytes_total', { device }, COUNT, 30 * scale, 4096);
    node('node_disk_write_time_seconds_total', { device }, CENTI, 0.01 * scale);
    node('node_disk_io_time_seconds_total', { device }, CENTI, 0.02 * scale);
    node('node_disk_io_time_weighted_seconds_total', { device }, CENTI, 0.03 * scale);
    node('node_disk_io_now', { device }, STEP, 0.05 * scale, 1, 1);
    node('node_disk_discards_completed_total', { device }, CONST, 0);
    node('node_disk_info', { device, major: '8', minor: device === 'sda' ? '0' : '16' }, CONST, 1);
  }
  const netstat = [
    ['Tcp_ActiveOpens', 0.5], ['Tcp_PassiveOpens', 2], ['Tcp_InErrs', 0], ['Tcp_InSegs', 150], ['Tcp_OutSegs', 140],
    ['Tcp_RetransSegs', 0.05], ['Udp_InDatagrams', 5], ['Udp_OutDatagrams', 5], ['Udp_InErrors', 0], ['Udp_NoPorts', 0.01],
    ['UdpLite_InDatagrams', 0], ['UdpLite_InErrors', 0], ['TcpExt_ListenDrops', 0], ['TcpExt_ListenOverflows', 0],
    ['TcpExt_SyncookiesFailed', 0], ['TcpExt_SyncookiesRecv', 0], ['TcpExt_SyncookiesSent', 0], ['TcpExt_TCPSynRetrans', 0.01],
    ['Icmp_InMsgs', 0.02], ['Icmp_OutMsgs', 0.02], ['Icmp_InErrors', 0], ['IpExt_InOctets', 60_000], ['IpExt_OutOctets', 55_000],
    ['Ip6_InOctets', 10], ['Ip6_OutOctets', 10], ['Udp6_InDatagrams', 0], ['Udp6_OutDatagrams', 0],
  ];
  for (const [field, rate] of netstat) node(`node_netstat_${field}`, {}, COUNT, rate);
  node('node_netstat_Tcp_CurrEstab', {}, STEP, 0.4, 1, 3);
  node('node_netstat_Ip_Forwarding', {}, CONST, 1);
  for (const [field, rate] of [['pgfault', 3000], ['pgmajfault', 0.1], ['pgpgin', 2], ['pgpgout', 30], ['pswpin', 0], ['pswpout', 0], ['oom_kill', 0]]) {
    node(`node_vmstat_${field}`, {}, COUNT, rate);
  }
  for (const [field, model, a] of [
    ['offset_seconds', NOISE, 0.0002], ['frequency_adjustment_ratio', RATIO, 1], ['maxerror_seconds', STEP, 0.3], ['estimated_error_seconds', STEP, 0.05],
    ['sync_status', CONST, 1], ['status', CONST, 8193], ['tai_offset_seconds', CONST, 0], ['tick_seconds', CONST, 0.01], ['loop_time_constant', CONST, 7],
    ['pps_calibration_total', CONST, 0], ['pps_error_total', CONST, 0], ['pps_frequency_hertz', CONST, 0], ['pps_jitter_seconds', CONST, 0],
    ['pps_jitter_total', CONST, 0], ['pps_shift_seconds', CONST, 0], ['pps_stability_exceeded_total', CONST, 0], ['pps_stability_hertz', CONST, 0],
  ]) {
    node(`node_timex_${field}`, {}, model, a, model === STEP ? 0.000001 : 1, model === STEP ? 500 : 1);
  }
  for (const [ip, queue] of [['v4', 'rx'], ['v4', 'tx'], ['v6', 'rx'], ['v6', 'tx']]) node('node_udp_queues', { ip, queue }, CONST, 0);
  node('node_load1', {}, LOAD, 0.9);
  node('node_load5', {}, LOAD, 0.8);
  node('node_load15', {}, LOAD, 0.7);
  node('node_boot_time_seconds', {}, CONST, 1_761_000_000);
  node('node_time_seconds', {}, FSUM, 60);
  node('node_uname_info', { machine: 'x86_64', release: '6.1.0-18-amd64', sysname: 'Linux' }, CONST, 1);
  node('node_os_info', { id: 'debian', version_id: '12' }, CONST, 1);
  node('node_dmi_info', { product_name: 'Standard PC', system_vendor: 'QEMU' }, CONST, 1);
  node('node_exporter_build_info', { version: '1.7.0', goversion: 'go1.21.6' }, CONST, 1);
  node('node_textfile_scrape_error', {}, CONST, 0);
  node('node_selinux_enabled', {}, CONST, 0);
  node('node_context_switches_total', {}, COUNT, 2500);
  node('node_intr_total', {}, COUNT, 1800);
  node('node_forks_total', {}, COUNT, 3);
  node('node_procs_running', {}, STEP, 0.5, 1, 2);
  node('node_procs_blocked', {}, STEP, 0.05, 1, 1);
  node('node_filefd_allocated', {}, STEP, 0.5, 1, 10);
  node('node_filefd_maximum', {}, CONST, 9_223_372_036_854_776_000);
  node('node_nf_conntrack_entries', {}, STEP, 0.6, 1, 10);
  node('node_nf_conntrack_entries_limit', {}, CONST, 262_144);
  node('node_sockstat_TCP_inuse', {}, STEP, 0.4, 1, 3);
  node('node_sockstat_TCP_alloc', {}, STEP, 0.4, 1, 3);
  node('node_sockstat_TCP_tw', {}, STEP, 0.5, 1, 5);
  node('node_sockstat_TCP_mem', {}, STEP, 0.5, 1, 4);
  node('node_sockstat_UDP_inuse', {}, STEP, 0.02, 1, 1);
  node('node_sockstat_sockets_used', {}, STEP, 0.5, 1, 5);
  node('node_entropy_available_bits', {}, CONST, 256);
  const collectors = ['arp', 'bcache', 'bonding', 'conntrack', 'cpu', 'cpufreq', 'diskstats', 'edac', 'entropy', 'filefd', 'filesystem', 'hwmon', 'loadavg', 'mdadm', 'meminfo', 'netclass', 'netdev', 'netstat', 'nfs', 'os', 'powersupplyclass', 'pressure', 'schedstat', 'sockstat', 'softnet', 'stat', 'textfile', 'time', 'timex', 'uname', 'vmstat', 'xfs', 'zfs'];
  for (const collector of collectors) {
    node('node_scrape_collector_success', { collector }, CONST, 1);
    node('node_scrape_collector_duration_seconds', { collector }, NOISE, 0.0008);
  }
  processMetrics(node, 0.004);
  // An instrumented HTTP service: request counters and latency histograms per route.
  for (const [route, method, rate] of ROUTES) {
    const h = { handler: route, method };
    app('http_requests_total', { ...h, code: method === 'POST' ? '201' : '200' }, COUNT, rate);
    app('http_requests_total', { ...h, code: '404' }, COUNT, rate * 0.01);
    app('http_requests_total', { ...h, code: '500' }, COUNT, rate * 0.001);
    LE.forEach((le, k) => app('http_request_duration_seconds_bucket', { ...h, le }, BUCKET, LATENCY_CDF[k]));
    app('http_request_duration_seconds_sum', h, HSUM, 0.06);
    app('http_request_duration_seconds_count', h, HCOUNT, rate);
  }
  app('http_requests_in_flight', {}, STEP, 0.5, 1, 2);
  processMetrics(app, 0.08);
  for (const target of [0, 1]) {
    const add = target === 0 ? node : app;
    add('up', {}, CONST, 1);
    add('scrape_duration_seconds', {}, NOISE, target === 0 ? 0.02 : 0.004);
    add('scrape_samples_scraped', {}, CONST, target === 0 ? 1100 : 160);
    add('scrape_samples_post_metric_relabeling', {}, CONST, target === 0 ? 1100 : 160);
    add('scrape_series_added', {}, CONST, 0);
  }
  return out;
}

/** What every Go process exposes: process_*, go_* runtime and promhttp_* series. */
function processMetrics(add, cpuShare) {
  add('process_cpu_seconds_total', {}, CENTI, cpuShare);
  add('process_resident_memory_bytes', {}, STEP, 0.7, 4096, 400);
  add('process_virtual_memory_bytes', {}, STEP, 0.1, 4096, 1000);
  add('process_virtual_memory_max_bytes', {}, CONST, 18_446_744_073_709_552_000);
  add('process_open_fds', {}, STEP, 0.3, 1, 3);
  add('process_max_fds', {}, CONST, 1_048_576);
  add('process_start_time_seconds', {}, CONST, 1_762_500_000.42);
  add('go_goroutines', {}, STEP, 0.6, 1, 5);
  add('go_threads', {}, STEP, 0.02, 1, 1);
  add('go_info', { version: 'go1.21.6' }, CONST, 1);
  for (const q of ['0', '0.25', '0.5', '0.75', '1']) add('go_gc_duration_seconds', { quantile: q }, NOISE, 0.0001 * (1 + Number(q) * 4));
  add('go_gc_duration_seconds_sum', {}, FSUM, 0.0003);
  add('go_gc_duration_seconds_count', {}, COUNT, 0.1);
  for (const [field, model, a, b, c] of [
    ['alloc_bytes', STEP, 1, 8, 200_000], ['alloc_bytes_total', COUNT, 50_000, 8], ['buck_hash_sys_bytes', CONST, 1_456_000], ['frees_total', COUNT, 800],
    ['gc_sys_bytes', STEP, 0.05, 4096, 10], ['heap_alloc_bytes', STEP, 1, 8, 200_000], ['heap_idle_bytes', STEP, 0.5, 8192, 100], ['heap_inuse_bytes', STEP, 0.8, 8192, 100],
    ['heap_objects', STEP, 1, 1, 2000], ['heap_released_bytes', STEP, 0.3, 8192, 50], ['heap_sys_bytes', STEP, 0.05, 8192, 100], ['last_gc_time_seconds', FSUM, 60],
    ['lookups_total', CONST, 0], ['mallocs_total', COUNT, 820], ['mcache_inuse_bytes', CONST, 4800], ['mcache_sys_bytes', CONST, 15_600],
    ['mspan_inuse_bytes', STEP, 0.5, 8, 200], ['mspan_sys_bytes', STEP, 0.02, 16384, 1], ['next_gc_bytes', STEP, 0.1, 8, 100_000], ['other_sys_bytes', STEP, 0.05, 8, 1000],
    ['stack_inuse_bytes', STEP, 0.05, 32768, 1], ['stack_sys_bytes', STEP, 0.02, 32768, 1], ['sys_bytes', STEP, 0.02, 8192, 100],
  ]) {
    add(`go_memstats_${field}`, {}, model, a, b ?? 1, c ?? 1);
  }
  for (const code of ['200', '500', '503']) add('promhttp_metric_handler_requests_total', { code }, COUNT, code === '200' ? 1 / 60 : 0);
  add('promhttp_metric_handler_requests_in_flight', {}, CONST, 1);
}

function encodeString(field, s) {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(b.length), b]);
}

function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/**
 * `count` series (whole hosts, the last one cut short) with their pre-encoded protobuf label bytes
 * (sorted), value model and scrape target. Deterministic.
 */
export function makeSeries(count) {
  const template = hostTemplate();
  const r = rng(42);
  const labelBytes = [];
  const model = new Uint8Array(count);
  const a = new Float64Array(count);
  const b = new Float64Array(count);
  const c = new Float64Array(count);
  const target = new Uint32Array(count);
  const targets = Math.ceil(count / template.length) * 2;
  const offsets = new Float64Array(targets);
  for (let i = 0; i < count; i++) {
    const host = Math.floor(i / template.length);
    const [extra, m, pa, pb, pc, t] = template[i % template.length];
    const ip = `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`;
    const all = {
      ...extra,
      instance: t === 0 ? `${ip}:9100` : `${ip}:8080`,
      job: t === 0 ? 'node' : `shop-${host % 12}`,
      region: REGIONS[host % 3],
    };
    const sorted = Object.entries(all).sort(([x], [y]) => (x < y ? -1 : 1));
    labelBytes.push(
      Buffer.concat(
        sorted.map(([n, v]) => {
          const inner = Buffer.concat([encodeString(1, n), encodeString(2, v)]);
          return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
        }),
      ),
    );
    model[i] = m;
    a[i] = pa;
    b[i] = pb;
    c[i] = pc;
    target[i] = host * 2 + t;
  }
  for (let k = 0; k < targets; k++) offsets[k] = Math.floor(r() * 60_000);
  return { count, labelBytes, model, a, b, c, target, offsets };
}

/** Approximately normal with mean 0 and deviation 1 (sum of uniforms). */
function gauss(r) {
  return r() + r() + r() + r() - 2;
}

/**
 * The load's samples, round by round: yields the same `{ round, times, values }` object each
 * time, with times[i]/values[i] the sample of series i in that round (deterministic).
 */
export function* rounds(series, { startMs, intervalMs, count }) {
  const n = series.count;
  const { model, a, b, c, target, offsets } = series;
  const r = rng(7);
  const acc = new Float64Array(n);
  const values = new Float64Array(n);
  const times = new Float64Array(n);
  const targetTimes = new Float64Array(offsets.length);
  const secs = intervalMs / 1000;
  for (let i = 0; i < n; i++) {
    const m = model[i];
    if (m === CONST) acc[i] = a[i];
    // Counters start where about a month of uptime at their rate leaves them.
    else if (m === COUNT) acc[i] = Math.floor(a[i] * UPTIME_S * (0.9 + 0.2 * r())) * b[i];
    else if (m === CENTI) acc[i] = Math.floor(a[i] * UPTIME_S * 100 * (0.9 + 0.2 * r()));
    else if (m === HCOUNT) {
      acc[i] = Math.floor(a[i] * UPTIME_S * (0.9 + 0.2 * r()));
      for (let j = i - 13; j < i - 1; j++) acc[j] = Math.round(acc[i] * a[j]);
      acc[i - 1] = acc[i] * a[i - 1];
    }
    else if (m === STEP) acc[i] = c[i] < 100 ? Math.floor(c[i] * 20 * (0.5 + r())) : Math.floor((0.3 + r() * 0.4) * 1e6);
    else if (m === LOAD) acc[i] = Math.round(a[i] * 100);
    else if (m === FSUM) acc[i] = a[i] * UPTIME_S * (0.9 + 0.2 * r());
  }
  let events = 0;
  let eventsBefore = 0;
  for (let round = 0; round < count; round++) {
    for (let k = 0; k < offsets.length; k++) {
      // Prometheus aligns scrape times that are within 2 ms of the schedule (scrape.timestamp-tolerance),
      // so stored timestamps are regular except for scrapes delayed more than that (here 2 %, by 3-20 ms).
      const late = r() < LATE_SCRAPES ? 3 + Math.floor(r() * 18) : 0;
      targetTimes[k] = startMs + round * intervalMs + offsets[k] + late;
    }
    for (let i = 0; i < n; i++) {
      const m = model[i];
      times[i] = targetTimes[target[i]];
      switch (m) {
        case CONST:
          values[i] = acc[i];
          break;
        case COUNT: {
          const mean = a[i] * secs;
          const step = mean < 1 ? (r() < mean ? 1 : 0) : Math.max(0, Math.round(mean + gauss(r) * Math.sqrt(mean)));
          acc[i] += step * b[i];
          values[i] = acc[i];
          break;
        }
        case CENTI: {
          const mean = a[i] * secs * 100;
          acc[i] += mean < 1 ? (r() < mean ? 1 : 0) : Math.max(0, Math.round(mean * (1 + gauss(r) * 0.1)));
          values[i] = acc[i] / 100;
          break;
        }
        case STEP:
          if (r() < a[i]) acc[i] += Math.round((r() * 2 - 1) * c[i]) || 1;
          values[i] = acc[i] * b[i];
          break;
        case LOAD:
          acc[i] = Math.max(0, Math.round(acc[i] + (a[i] * 100 - acc[i]) * 0.1 + gauss(r) * 8));
          values[i] = acc[i] / 100;
          break;
        case NOISE:
          values[i] = Math.round(a[i] * (0.5 + r()) * 1e9) / 1e9;
          break;
        case RATIO:
          values[i] = a[i] * (1 + (r() - 0.5) * 1e-4);
          break;
        case FSUM:
          acc[i] += a[i] * (0.5 + r());
          values[i] = acc[i];
          break;
        case HCOUNT: {
          // Comes after its buckets and sum: draw the observations first, then fill them in.
          const mean = a[i] * secs;
          events = mean < 1 ? (r() < mean ? 1 : 0) : Math.max(0, Math.round(mean + gauss(r) * Math.sqrt(mean)));
          eventsBefore = acc[i];
          acc[i] += events;
          values[i] = acc[i];
          let prev = 0;
          for (let j = i - 13; j < i - 1; j++) {
            const p = a[j];
            const expect = events * p;
            const got = p >= 1 ? events : Math.min(events, Math.max(prev, Math.round(expect + gauss(r) * Math.sqrt(expect * (1 - p)))));
            acc[j] += got;
            prev = got;
            values[j] = acc[j];
          }
          acc[i - 1] += events * a[i - 1] * (1 + gauss(r) * 0.05);
          values[i - 1] = acc[i - 1];
          break;
        }
        default:
          break; // BUCKET and HSUM are written by their HCOUNT
      }
    }
    yield { round, times, values };
  }
}

/** Protobuf varint into `buf` at `o`; returns the new offset. */
function writeVarint(buf, o, n) {
  while (n > 127) {
    buf[o++] = (n & 127) | 128;
    n = Math.floor(n / 128);
  }
  buf[o++] = n;
  return o;
}

/**
 * Snappy remote-write bodies of `seriesPerRequest` series each, round by round, encoded straight
 * into one buffer per request (the sender must not be the bottleneck).
 */
export function* requests(series, opts, seriesPerRequest) {
  let maxLabels = 0;
  for (const l of series.labelBytes) maxLabels = Math.max(maxLabels, l.length);
  const buf = Buffer.alloc(seriesPerRequest * (maxLabels + 40));
  for (const { times, values } of rounds(series, opts)) {
    for (let lo = 0; lo < series.count; lo += seriesPerRequest) {
      const hi = Math.min(series.count, lo + seriesPerRequest);
      let o = 0;
      for (let i = lo; i < hi; i++) {
        const labels = series.labelBytes[i];
        const tsLen = varintLength(times[i]);
        // Sample { double value = 1; int64 timestamp = 2; }
        const sampleLen = 1 + 8 + 1 + tsLen;
        buf[o++] = 0x0a;
        o = writeVarint(buf, o, labels.length + 2 + sampleLen);
        o += labels.copy(buf, o);
        buf[o++] = 0x12;
        buf[o++] = sampleLen;
        buf[o++] = 0x09;
        o = buf.writeDoubleLE(values[i], o);
        buf[o++] = 0x10;
        o = writeVarint(buf, o, times[i]);
      }
      yield { body: compressSync(buf.subarray(0, o)), samples: hi - lo };
    }
  }
}

function varintLength(n) {
  let len = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}
