
# Copyright (c) fluss_grid contributors

# fluss-gridsim, the telemetry simulator: usage errors exit 2; a missing
# table, too few stations and a COPY refused by the server exit 1 with the
# server's message; a replay run inserts exactly stations x duration /
# interval rows that are physically sane; the same seed gives byte-identical
# data and another seed other data; a trip makes the frequency of the
# tripped station's region dip and recover, a dip and a sag show; a dirty
# run contains every kind of dirty data its summary counts; a terminated
# backend and a server restart mid-run are retried without losing a batch,
# a server that stays down makes it give up saying what was not sent;
# SIGINT in real-time mode stops after the current batch with a summary.
#
# The program is found through $FLUSS_GRIDSIM, in the build tree
# (src/gridsim) or in the PostgreSQL bindir where "make install" puts it.
# The schema is a fixture following the warehouse contract
# (docs/SIMULATOR.md): 42 stations, six in each of the 7 regional grids.

use strict;
use warnings;

use FindBin;
use File::Compare;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('gridsim');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->start;
my $conn = $node->connstr('postgres');

my $gridsim = $ENV{FLUSS_GRIDSIM};
if (!$gridsim)
{
	my $built = "$FindBin::RealBin/../../src/gridsim/fluss-gridsim";
	my $installed = $node->config_data('--bindir') . '/fluss-gridsim';
	$gridsim = -x $built ? $built : $installed;
}
plan skip_all => "fluss-gridsim not found ($gridsim); run make install"
  unless -x $gridsim;
note("testing $gridsim");

# ---------------------------------------------------------------------------
# helpers

# run the simulator with ARGS (no conninfo added); (exit status, stdout,
# stderr)
sub sim
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $gridsim, @args ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# the key=value pairs of the "summary:" lines of a run's stderr
sub summary
{
	my ($err) = @_;
	my %s;
	while ($err =~ /^fluss-gridsim: summary: (.*)$/mg)
	{
		for my $word (split / /, $1)
		{
			$s{$1} = $2 if $word =~ /^(\w+)=(\S+)$/;
		}
	}
	return \%s;
}

sub query
{
	return $node->safe_psql('postgres', $_[0]);
}

my $raw = 'grid.ods_grid_realtime_raw';

# ---------------------------------------------------------------------------
# usage errors exit 2 before connecting

for my $args (
	['--bogus'],
	[ '--rate', 'abc' ],
	[ '--rate', '-5' ],
	[ '--duration', '0' ],
	[ '--duration', '5 parsecs' ],
	[ '--interval', 'x' ],
	[ '--dirty', '1.5' ],
	[ '--faults', 'boom@5m' ],
	[ '--faults', 'trip' ],
	[ '--start', '2026-13-01' ],
	[ '--start', '2026-02-29 10:00' ],
	[ '--start', '2026-03-10 25:00' ],
	[ '--seed', '-1' ],
	[ '--stations', '0' ],
	[ '--batch-ms', '0' ],
	['--stations'],
	[ '--start', 'now', '--rate', '10', '--interval', '1s' ],
	[ 'dbname=a', 'dbname=b' ])
{
	my ($rc, $out, $err) = sim(@$args);
	is($rc, 2, "exit 2 for: @$args");
	like($err, qr/Try "fluss-gridsim --help"/, "usage hint for: @$args");
}

my ($rc, $out, $err) = sim('--help');
is($rc, 0, '--help exits 0');
like($out, qr/^Usage:.*--stations=N.*--faults=SPEC/ms, '--help prints the usage');
($rc, $out, $err) = sim('--version');
is($rc, 0, '--version exits 0');
like($out, qr/^fluss-gridsim \(fluss_grid\) \d/, '--version prints it');

# ---------------------------------------------------------------------------
# no warehouse tables: a clear error, exit 1

($rc, $out, $err) = sim('--start', '2026-03-10 10:00', '--duration', '10s', $conn);
is($rc, 1, 'missing dim_station: exit 1');
like(
	$err,
	qr/cannot read the stations from "grid"\."dim_station": ERROR:  relation "grid\.dim_station" does not exist/,
	'missing dim_station: the server message');
like($err, qr/hint: .*--schema/, 'missing dim_station: a hint');

# ---------------------------------------------------------------------------
# the fixture: the contract's tables, six stations in each of 7 regions

query(
	q{
CREATE SCHEMA grid;
CREATE TABLE grid.dim_region (region text PRIMARY KEY, grid_company text);
INSERT INTO grid.dim_region VALUES ('华北', 'State Grid'), ('华东', 'State Grid'),
  ('华中', 'State Grid'), ('东北', 'State Grid'), ('西北', 'State Grid'),
  ('西南', 'State Grid'), ('华南', 'China Southern Grid');
CREATE TABLE grid.dim_station (
    station_id  integer PRIMARY KEY,
    station_name text,
    region      text NOT NULL REFERENCES grid.dim_region,
    kind        text NOT NULL CHECK (kind IN ('thermal','hydro','wind','solar','nuclear','substation')),
    capacity_mw double precision NOT NULL,
    nominal_kv  double precision NOT NULL,
    province text, longitude double precision, latitude double precision);
INSERT INTO grid.dim_station
SELECT (r.n - 1) * 6 + k.n, r.region || k.kind || k.n, r.region,
       CASE WHEN k.kind = 'hydro' AND r.region IN ('华东', '东北') THEN 'nuclear' ELSE k.kind END,
       k.cap, k.kv, r.province, r.lon + k.n * 0.3, r.lat
  FROM (VALUES (1, '华北', '北京', 116.4, 39.9), (2, '华东', '上海', 121.5, 31.2),
               (3, '华中', '湖北', 114.3, 30.6), (4, '东北', '黑龙江', 126.6, 45.8),
               (5, '西北', '甘肃', 103.8, 36.1), (6, '西南', '四川', 104.1, 30.7),
               (7, '华南', '广东', 113.3, 23.1)) r(n, region, province, lon, lat)
 CROSS JOIN (VALUES (1, 'substation', 900, 220), (2, 'substation', 1200, 500),
                    (3, 'thermal', 1000, 500), (4, 'hydro', 600, 500),
                    (5, 'wind', 300, 220), (6, 'solar', 200, 110)) k(n, kind, cap, kv);
CREATE TABLE grid.ods_grid_realtime_raw (
    ingest_seq    bigint GENERATED BY DEFAULT AS IDENTITY,
    received_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    station_id    integer,
    ts            timestamptz,
    load_mw       double precision,
    generation_mw double precision,
    frequency_hz  double precision,
    voltage_kv    double precision);
});
my $nst = query('SELECT count(*) FROM grid.dim_station');
is($nst, 42, 'fixture: 42 stations');

($rc, $out, $err) = sim('--stations', '100', '--start', '2026-03-10 10:00',
	'--duration', '10s', $conn);
is($rc, 1, 'more --stations than exist: exit 1');
like($err, qr/--stations 100 asks for more stations than "grid"\."dim_station" has \(42\)/,
	'more --stations than exist: the message');

($rc, $out, $err) = sim('--faults', 'trip@1m:999', '--start', '2026-03-10 10:00',
	'--duration', '10s', $conn);
is($rc, 2, 'a fault target that is not simulated: exit 2');
like($err, qr/trip target "999" is not a simulated station id/,
	'a fault target that is not simulated: the message');

($rc, $out, $err) = sim('--schema', 'nowhere', '--start', '2026-03-10 10:00',
	'--duration', '10s', $conn);
is($rc, 1, '--schema of a missing schema: exit 1');
like($err, qr/"nowhere\.dim_station" does not exist/, '--schema is used');

# ---------------------------------------------------------------------------
# a clean replay day at 1-minute samples: exact count, physical sanity

($rc, $out, $err) = sim(
	qw(--start 2026-06-21T00:00:00+08 --duration 1d --interval 60s --seed 11 --quiet),
	$conn);
is($rc, 0, 'clean replay run: exit 0') or diag($err);
my $s = summary($err);
is($s->{rows}, 42 * 1440, 'clean replay run: the summary counts 42 x 1440 rows');
is($s->{extra}, 0, 'clean replay run: no extra rows');
unlike($err, qr/rows sent, /, '--quiet: no progress lines');
is( query(
		"SELECT count(*) || ' ' || count(DISTINCT (station_id, ts)) || ' ' || min(ts) || ' ' || max(ts) FROM $raw"
	),
	'60480 60480 2026-06-20 16:00:00+00 2026-06-21 15:59:00+00',
	'clean replay run: one row per station and minute of the day');

my $joined = "$raw r JOIN grid.dim_station s USING (station_id)";
is(query("SELECT count(*) FROM $raw WHERE frequency_hz NOT BETWEEN 49.8 AND 50.2"),
	0, 'frequency within 49.8-50.2 Hz');
cmp_ok(query("SELECT stddev(frequency_hz) FROM $raw"),
	'<', 0.05, 'frequency mostly much closer to 50 Hz (stddev below 0.05)');
is( query(
		"SELECT count(*) FROM $raw WHERE 'NaN' IN (load_mw, generation_mw, frequency_hz, voltage_kv)"
	),
	0,
	'no NaN in a clean run');
is(query("SELECT count(*) FROM $raw WHERE load_mw < 0 OR generation_mw < 0"),
	0, 'loads and generation are not negative');
is( query(
		"SELECT count(*) FROM $joined WHERE load_mw > capacity_mw OR generation_mw > capacity_mw"
	),
	0,
	'loads and generation within capacity');
is(query("SELECT count(*) FROM $joined WHERE kind = 'substation' AND generation_mw <> 0"),
	0, 'substations generate 0');
my $solar_hour =
  "mod((extract(epoch FROM ts) / 3600 + longitude / 15)::numeric + 48, 24)";
is( query(
		"SELECT count(*) FROM $joined WHERE kind = 'solar' AND $solar_hour NOT BETWEEN 4 AND 20 AND generation_mw <> 0"
	),
	0,
	'solar generates 0 at local night (solar time 20:00-04:00)');
is( query(
		"SELECT count(*) FROM $joined WHERE kind = 'solar' AND $solar_hour BETWEEN 11 AND 13 AND generation_mw <= 0"
	),
	0,
	'solar generates around local solar noon');
is( query(
		"SELECT count(*) FROM $joined WHERE kind = 'nuclear' AND generation_mw NOT BETWEEN 0.95 * capacity_mw AND capacity_mw"
	),
	0,
	'nuclear runs near rated output');
is( query(
		"SELECT count(*) FROM $joined WHERE voltage_kv NOT BETWEEN 0.95 * nominal_kv AND 1.07 * nominal_kv"
	),
	0,
	'voltages near nominal (within 10% in all, GB/T 12325)');
# each region's load: evening peak well above the night valley
is( query(
		qq{
	SELECT count(*) FROM (
	  SELECT region,
	         sum(load_mw) FILTER (WHERE extract(hour FROM ts AT TIME ZONE 'Asia/Shanghai') = 20) AS evening,
	         sum(load_mw) FILTER (WHERE extract(hour FROM ts AT TIME ZONE 'Asia/Shanghai') = 4) AS night
	    FROM $joined GROUP BY region) x
	 WHERE evening > 1.3 * night}),
	7,
	'every region: evening load above 1.3 x the night valley');
# thermal and hydro follow their region's load (AGC)
cmp_ok(
	query(
		qq{
	SELECT min(c) FROM (
	  SELECT region, corr(l, g) AS c FROM (
	    SELECT region, ts, sum(load_mw) AS l,
	           sum(generation_mw) FILTER (WHERE kind IN ('thermal', 'hydro')) AS g
	      FROM $joined GROUP BY region, ts) y GROUP BY region) x}),
	'>', 0.5,
	'thermal+hydro generation correlates with the region load');

# a subset of the stations
query("TRUNCATE $raw");
($rc, $out, $err) = sim(
	qw(--stations 7 --start 2026-06-21T00:00:00Z --duration 90s --quiet), $conn);
is($rc, 0, '--stations 7: exit 0') or diag($err);
is(query("SELECT count(*) || ' ' || max(station_id) FROM $raw"),
	'630 7', '--stations 7 --duration 90s: the first 7 stations, 90 samples each');

# ---------------------------------------------------------------------------
# determinism: --output with the same seed is byte-identical

my $dir = PostgreSQL::Test::Utils::tempdir;
my @det = (
	qw(--start 2026-03-10T08:00:00Z --duration 10m --dirty 0.05 --quiet),
	'--faults', 'trip@2m,dip@4m,sag@6m,6/h');
($rc, $out, $err) = sim(@det, '--seed', '42', '--output', "$dir/a", $conn);
is($rc, 0, 'output run 1: exit 0') or diag($err);
my $sa = summary($err);
($rc, $out, $err) = sim(@det, '--seed', '42', '--output', "$dir/b", $conn);
is($rc, 0, 'output run 2: exit 0');
($rc, $out, $err) = sim(@det, '--seed', '43', '--output', "$dir/c", $conn);
is($rc, 0, 'output run 3: exit 0');
ok(-s "$dir/a" > 0, 'the output file has data');
is(compare("$dir/a", "$dir/b"), 0, 'same seed: byte-identical data');
is(compare("$dir/a", "$dir/c"), 1, 'another seed: other data');
my @lines = split /\n/, slurp_file("$dir/a");
is(scalar @lines, $sa->{rows}, 'the output has the rows the summary counts');
like($lines[0], qr/^\d+\t2026-03-10 08:00:00\+00\t[-\d.]+\t[-\d.]+\t[-\d.]+\t[-\d.]+$/,
	'a COPY text line');
is(query("SELECT count(*) FROM $raw"), 630, '--output sends nothing');
($rc, $out, $err) = sim(@det, '--seed', '42', '--output', '-', $conn);
ok($out eq slurp_file("$dir/a"), '--output - writes the same to stdout');

# ---------------------------------------------------------------------------
# faults: a trip makes its region's frequency dip and recover; dip, sag

query("TRUNCATE $raw");
my $trip = query(
	"SELECT station_id FROM grid.dim_station WHERE region = '华北' AND kind = 'thermal'"
);
my $sag = query(
	"SELECT station_id FROM grid.dim_station WHERE region = '华中' AND kind = 'substation' ORDER BY 1 LIMIT 1"
);
($rc, $out, $err) = sim(
	qw(--start 2026-03-10T10:00:00+08 --duration 10m --seed 5 --quiet),
	'--faults', "trip\@3m:$trip,dip\@6m:华东,sag\@8m:$sag", $conn);
is($rc, 0, 'fault run: exit 0') or diag($err);
like(
	$err,
	qr/fault: trip of station $trip \(华北, thermal\) at 2026-03-10 10:03:00\+08: [\d.]+ MW lost/,
	'the trip is logged');
like($err, qr/fault: frequency dip in 华东 at 2026-03-10 10:06:00\+08/,
	'the dip is logged');
like($err, qr/fault: voltage sag at station $sag \(华中\) at 2026-03-10 10:08:00\+08/,
	'the sag is logged');
like($err, qr/summary: faults trip=1 dip=1 sag=1/, 'the summary counts faults');

# min frequency of REGION over local times [FROM, TO)
sub fmin
{
	my ($region, $from, $to) = @_;
	return query(
		"SELECT min(frequency_hz) FROM $joined WHERE region = '$region'"
		  . " AND ts >= '2026-03-10 $from+08' AND ts < '2026-03-10 $to+08'");
}
my $before = fmin('华北', '10:00', '10:03');
my $after = fmin('华北', '10:03', '10:05');
cmp_ok($after, '<', $before - 0.1,
	"trip: the frequency of 华北 dips ($before -> $after Hz)");
cmp_ok($after, '<', 49.9, 'trip: below 49.9 Hz');
cmp_ok(fmin('华中', '10:03', '10:05'),
	'>', 49.9, 'trip: other regions do not dip');
is( query(
		"SELECT max(generation_mw) FROM $raw WHERE station_id = $trip AND ts >= '2026-03-10 10:03:00+08'"
	),
	0,
	'trip: the tripped station generates 0 afterwards');
is( query(
		"SELECT max(abs(frequency_hz - 50)) < 0.1 FROM $joined WHERE region = '华北' AND ts >= '2026-03-10 10:09:00+08'"
	),
	't',
	'trip: AGC brings the frequency back within minutes');
my $dip_before = fmin('华东', '10:00', '10:06');
my $dip_after = fmin('华东', '10:06', '10:07');
cmp_ok($dip_after, '<', $dip_before - 0.1,
	"dip: the frequency of 华东 dips ($dip_before -> $dip_after Hz)");
is( query(
		"SELECT min(voltage_kv / nominal_kv) < 0.92 AND max(voltage_kv / nominal_kv) FILTER (WHERE ts < '2026-03-10 10:08+08') > 0.95 FROM $joined WHERE station_id = $sag"
	),
	't',
	'sag: the station voltage sags below 92% of nominal');

# ---------------------------------------------------------------------------
# dirty data: every kind is there, counted by the summary

query("TRUNCATE $raw");
($rc, $out, $err) = sim(
	qw(--start 2026-03-10T10:00:00+08 --duration 10m --dirty 0.05 --seed 9 --quiet),
	$conn);
is($rc, 0, 'dirty run: exit 0') or diag($err);
$s = summary($err);
is($s->{clean}, 42 * 600, 'dirty run: 42 x 600 clean rows');
is(query("SELECT count(*) FROM $raw"), $s->{clean} + $s->{extra},
	"dirty run: clean + extra rows ($s->{extra}) in the table");
is( query(
		"SELECT count(DISTINCT (station_id, ts)) FROM $raw WHERE station_id <= 42 AND ts < '2026-03-10 10:10:00+08'"
	),
	42 * 600,
	'dirty run: every (station, ts) of the grid is there');
for my $kind (
	qw(nan duplicate correction out_of_order late unknown_station future_ts bad_frequency negative_load)
  )
{
	cmp_ok($s->{$kind} // 0, '>', 0, "dirty run: the summary counts $kind");
}
my %dirty_sql = (
	nan =>
	  "SELECT count(*) FROM $raw WHERE 'NaN' IN (load_mw, generation_mw, frequency_hz, voltage_kv)",
	duplicate => "SELECT count(*) FROM (SELECT 1 FROM $raw GROUP BY station_id, ts,"
	  . " load_mw, generation_mw, frequency_hz, voltage_kv HAVING count(*) > 1) x",
	correction => "SELECT count(*) FROM (SELECT 1 FROM $raw GROUP BY station_id, ts"
	  . " HAVING count(DISTINCT (load_mw, generation_mw, frequency_hz, voltage_kv)) > 1) x",
	out_of_order => "SELECT count(*) FROM (SELECT ts, max(ts) OVER (PARTITION BY station_id"
	  . " ORDER BY ingest_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS seen FROM $raw"
	  . " WHERE ts < '2027-01-01') x WHERE seen - ts BETWEEN interval '1 s' AND interval '10 s'",
	late => "SELECT count(*) FROM (SELECT ts, max(ts) OVER (PARTITION BY station_id"
	  . " ORDER BY ingest_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS seen FROM $raw"
	  . " WHERE ts < '2027-01-01') x WHERE seen - ts >= interval '2 min'",
	unknown_station =>
	  "SELECT count(*) FROM $raw WHERE station_id NOT IN (SELECT station_id FROM grid.dim_station)",
	future_ts => "SELECT count(*) FROM $raw WHERE ts > '2027-03-01'",
	bad_frequency =>
	  "SELECT count(*) FROM $raw WHERE frequency_hz IN (0, 60, 99.99, -50)",
	negative_load => "SELECT count(*) FROM $raw WHERE load_mw < 0");
for my $kind (sort keys %dirty_sql)
{
	cmp_ok(query($dirty_sql{$kind}), '>', 0, "dirty run: $kind rows in the table");
}
is(query($dirty_sql{unknown_station}), $s->{unknown_station},
	'dirty run: unknown station rows as counted');
is(query($dirty_sql{future_ts}), $s->{future_ts},
	'dirty run: future rows as counted');
is(query($dirty_sql{bad_frequency}), $s->{bad_frequency},
	'dirty run: bad frequencies as counted');

# ---------------------------------------------------------------------------
# a COPY the server refuses: its message, exit 1

query(
	q{
CREATE ROLE reader LOGIN;
GRANT USAGE ON SCHEMA grid TO reader;
GRANT SELECT ON grid.dim_station, grid.ods_grid_realtime_raw TO reader;
});
($rc, $out, $err) = sim(
	qw(--start 2026-03-10T10:00:00+08 --duration 10s --quiet),
	$node->connstr('postgres') . ' user=reader');
is($rc, 1, 'COPY without INSERT privilege: exit 1');
like(
	$err,
	qr/COPY into the raw table failed: ERROR:  permission denied for table ods_grid_realtime_raw/,
	'COPY without INSERT privilege: the server message');

# ---------------------------------------------------------------------------
# a terminated backend and a server restart mid-run: retried, no batch lost

query("TRUNCATE $raw");
my ($bg_out, $bg_err) = ('', '');
my $h = IPC::Run::start(
	[
		$gridsim, qw(--start 2026-03-10T10:00:00+08 --duration 15m),
		qw(--rate 3000 --batch-ms 100), "$conn application_name=gridsim_retry"
	],
	'<', \undef, '>', \$bg_out, '2>', \$bg_err);
ok($node->poll_query_until('postgres', "SELECT count(*) > 2000 FROM $raw"),
	'retry run: rows arrive');
is( query(
		"SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'gridsim_retry'"
	),
	't',
	'retry run: the simulator backend terminated');
my $n = query("SELECT count(*) FROM $raw");
ok($node->poll_query_until('postgres', "SELECT count(*) > $n + 2000 FROM $raw"),
	'retry run: rows keep arriving after the terminated backend');
$node->restart;
$n = query("SELECT count(*) FROM $raw");
ok($node->poll_query_until('postgres', "SELECT count(*) > $n + 2000 FROM $raw"),
	'retry run: rows keep arriving after the restart');
$h->finish;
is($? >> 8, 0, 'retry run: exit 0') or diag($bg_err);
like($bg_err, qr/batch not committed: .*reconnecting to resend its \d+ rows/,
	'retry run: the lost connection is reported');
like($bg_err, qr/reconnected/, 'retry run: reconnected');
$s = summary($bg_err);
cmp_ok($s->{reconnects}, '>=', 2, 'retry run: at least two reconnects');
is($s->{rows}, 42 * 900, 'retry run: every batch committed once by the count');
cmp_ok(query("SELECT count(*) FROM $raw"),
	'>=', 42 * 900, 'retry run: no row lost (resent batches may duplicate)');
is( query(
		"SELECT count(DISTINCT (station_id, ts)) || ' ' || min(ts) || ' ' || max(ts) FROM $raw"
	),
	'37800 2026-03-10 02:00:00+00 2026-03-10 02:14:59+00',
	'retry run: every (station, ts) is there');
like($bg_err, qr/^fluss-gridsim: \d+ rows sent, \d+ rows\/s, simulated time 2026-03-10 /m,
	'retry run: progress lines once a second');

# the server stays down: the batch is reported as not sent, exit 1

query("TRUNCATE $raw");
($bg_out, $bg_err) = ('', '');
$h = IPC::Run::start(
	[
		$gridsim, qw(--start 2026-03-10T10:00:00+08 --duration 15m),
		qw(--rate 3000 --batch-ms 100 --retry-timeout 2s --quiet), $conn
	],
	'<', \undef, '>', \$bg_out, '2>', \$bg_err);
ok($node->poll_query_until('postgres', "SELECT count(*) > 1000 FROM $raw"),
	'server down: rows arrive first');
$node->stop;
$h->finish;
is($? >> 8, 1, 'server down: exit 1 after --retry-timeout');
like(
	$bg_err,
	qr/giving up after \d+ s of reconnecting; a batch of \d+ rows was not sent/,
	'server down: the unsent batch is reported');
like($bg_err, qr/summary: rows=\d+ /, 'server down: the summary is printed');
$node->start;

# ---------------------------------------------------------------------------
# real-time mode: timestamps follow the wall clock; SIGINT stops cleanly

query("TRUNCATE $raw");
($bg_out, $bg_err) = ('', '');
$h = IPC::Run::start([ $gridsim, qw(--rate 210 --batch-ms 100), $conn ],
	'<', \undef, '>', \$bg_out, '2>', \$bg_err);
ok($node->poll_query_until('postgres', "SELECT count(*) > 100 FROM $raw"),
	'real-time run: rows arrive');
$h->signal('INT');
$h->finish;
is($? >> 8, 0, 'real-time run: exit 0 after SIGINT') or diag($bg_err);
like($bg_err, qr/stopped by signal 2 after the current batch/, 'SIGINT is reported');
$s = summary($bg_err);
is(query("SELECT count(*) FROM $raw"), $s->{rows},
	'real-time run: the table holds the rows of the summary');
like($bg_err, qr/every 0\.200 s/, 'real-time run: each station every stations / rate s');
is( query(
		"SELECT max(ts) <= now() + interval '1 s' AND min(ts) > now() - interval '5 min'"
		  . " AND count(DISTINCT station_id) = 42 FROM $raw"),
	't',
	'real-time run: timestamps follow the wall clock');

$node->stop;
done_testing();
