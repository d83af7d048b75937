
# Copyright (c) fluss_grid contributors

# Crash safety.  While pgbench clients insert, update and delete (also the
# rows holding extremes, also in transactions that roll back), the server
# is killed with SIGKILL: the postmaster itself, only the fold worker or
# only a writing backend (the postmaster then runs crash recovery); one
# transaction is left open at the first crash; later rounds kill the
# postmaster right after a TRUNCATE and right after a large commit that the
# worker is folding.  After each crash: the _realtime views equal a
# from-scratch GROUP BY at once, wait_for_rollups() returns true, and the
# minutely and hourly rollups equal it too: nothing lost, nothing counted
# twice.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $node = fg_node(
	'crash', conf => q{
max_connections = 30
restart_after_crash = on
log_statement = none
# the comparison queries are large; JIT would only add seconds per query
# (on _realtime views of a grown changelog it costs some 0.2-0.6 s a query)
jit = off
});

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION fluss_grid;
	CREATE TABLE src (
		id      bigserial PRIMARY KEY,
		ts      timestamptz,
		region  text NOT NULL,
		station integer,
		v       integer,
		f       double precision,
		n       numeric
	);
	SELECT fluss_grid.create_rollup('m', 'src', 'ts', interval '1 minute',
	    ARRAY['region', 'station'],
	    ARRAY['count(*) AS n', 'sum(v)', 'min(v)', 'max(v)', 'avg(f)',
	          'stddev(f)', 'first(v)', 'last(v)', 'sum(n)', 'max(n)',
	          'count(f) FILTER (WHERE f > 0) AS n_fpos', 'avg(v)']);
	SELECT fluss_grid.create_rollup(name => 'h', source => 'm',
	                                bucket => interval '1 hour');
});

# ---------------------------------------------------------------------------
# comparison with a from-scratch GROUP BY

# [alias, expected aggregate over src, magnitude for float tolerance]
my @aggs = (
	[ 'n',        'count(*)' ],
	[ 'sum_v',    'sum(v)' ],
	[ 'min_v',    'min(v)' ],
	[ 'max_v',    'max(v)' ],
	[ 'avg_f',    'avg(f)',    'coalesce(avg(abs(f)), 0)' ],
	[ 'stddev_f', 'stddev(f)', 'coalesce(avg(f * f), 0)' ],
	[ 'first_v',  '(array_agg(v ORDER BY ts, v))[1]' ],
	[ 'last_v',   '(array_agg(v ORDER BY ts DESC, v DESC))[1]' ],
	[ 'sum_n',    'sum(n)' ],
	[ 'max_n',    'max(n)' ],
	[ 'n_fpos',   'count(f) FILTER (WHERE f > 0)' ],
	[ 'avg_v',    'avg(v)' ],);

sub diff_sql
{
	my ($rel, $bucket) = @_;
	my (@sel, @cmp, @msg);
	for my $i (0 .. $#aggs)
	{
		my ($alias, $expr, $mag) = @{ $aggs[$i] };
		push @sel, "$expr AS a$i";
		my $c = "(g.$alias IS NOT DISTINCT FROM e.a$i)";
		if (defined $mag)
		{
			push @sel, "$mag AS m$i";
			my $d =
			  $alias eq 'stddev_f'
			  ? "abs(g.$alias * g.$alias - e.a$i * e.a$i)"
			  : "abs(g.$alias - e.a$i)";
			$c =
"coalesce(g.$alias IS NOT DISTINCT FROM e.a$i OR $d <= 1e-9 * e.m$i + 1e-12, false)";
		}
		push @cmp, $c;
		push @msg,
		  "CASE WHEN NOT $c THEN format('%s: got %s, expected %s', '$alias', "
		  . "coalesce(g.${alias}::text, 'NULL'), coalesce(e.a${i}::text, 'NULL')) END";
	}
	return qq{
	  WITH e AS (SELECT date_bin('$bucket', ts AT TIME ZONE 'UTC', '2000-01-03') AT TIME ZONE 'UTC' AS bucket,
	                    region, station, } . join(', ', @sel) . qq{
	               FROM src WHERE ts IS NOT NULL GROUP BY 1, 2, 3),
	       g AS (SELECT * FROM $rel)
	  SELECT coalesce(e.bucket, g.bucket), coalesce(e.region, g.region),
	         coalesce(e.station, g.station),
	         CASE WHEN e.bucket IS NULL THEN 'row not in GROUP BY'
	              WHEN g.bucket IS NULL THEN 'row missing'
	              ELSE concat_ws('; ', } . join(', ', @msg) . qq{) END
	    FROM e FULL JOIN g ON e.bucket = g.bucket AND e.region = g.region
	                      AND coalesce(e.station, -1) = coalesce(g.station, -1)
	   WHERE e.bucket IS NULL OR g.bucket IS NULL OR NOT (}
	  . join(' AND ', @cmp) . qq{)
	   ORDER BY 1, 2, 3};
}

my %bucket_of = (m => '1 minute', h => '1 hour');

sub check_rel
{
	my ($rel, $what) = @_;
	(my $r = $rel) =~ s/_realtime$//;
	my $sql = diff_sql($rel, $bucket_of{$r});
	my $out = $node->safe_psql('postgres',
"SET extra_float_digits = 3; SELECT count(*) FROM ($sql) x; $sql LIMIT 10"
	);
	my ($count, @rows) = split /\n/, $out;
	is($count, '0', "$what: $rel equals GROUP BY")
	  or diag("differing groups of $rel:\n" . join("\n", @rows));
}

# after a crash: realtime views exact at once, then rollups after waiting
sub check_all
{
	my ($what) = @_;
	check_no_crash($what);
	check_rel($_, "$what, at once") for qw(m_realtime h_realtime);
	is( $node->safe_psql('postgres', 'SELECT fluss_grid.wait_for_rollups()'),
		't',
		"$what: wait_for_rollups() returns true");
	check_rel($_, "$what, after wait_for_rollups()") for qw(m h);
	is( $node->safe_psql(
			'postgres',
			'SELECT coalesce(sum(pending_changes), 0) FROM fluss_grid.rollups'
		),
		'0',
		"$what: nothing pending");
}

# ---------------------------------------------------------------------------
# workload

my $tmp    = PostgreSQL::Test::Utils::tempdir;
my $script = "$tmp/ingest.sql";
open my $fh, '>', $script or die "could not write $script: $!";
print $fh q{
\set r random(0, 99)
\set reg random(0, 2)
\set st random(0, 3)
\set sec random(0, 7199)
\set v random(-800, 800)
\set k random(0, 400)
INSERT INTO src (ts, region, station, v, f, n)
SELECT '2024-03-10 15:00:00+00'::timestamptz + ((:sec + g * 37) % 7200) * interval '1 second'
         - CASE WHEN g = 7 THEN interval '2 days' ELSE interval '0' END,
       (ARRAY['a', 'b', 'c'])[1 + (:reg + g) % 3],
       NULLIF((:st + g) % 4, 0),
       :v + g,
       CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END * (100 + abs(:v + g) / 8.0),
       (:v * g) / 100.0
  FROM generate_series(1, 20) g;
UPDATE src SET v = v + 3, f = -f, station = NULLIF((coalesce(station, 0) + 1) % 4, 0)
 WHERE id = (SELECT max(id) FROM src) - :k;
\if :r < 30
DELETE FROM src WHERE id = (SELECT id FROM src WHERE region = (ARRAY['a', 'b', 'c'])[1 + :reg]
                             ORDER BY v DESC NULLS LAST LIMIT 1);
\elif :r < 45
UPDATE src SET ts = ts + interval '1 minute', n = n + 1 WHERE id = (SELECT max(id) FROM src) - :k - 7;
\elif :r < 55
DELETE FROM src WHERE id = (SELECT id FROM src WHERE station IS NULL ORDER BY ts LIMIT 1);
\endif
BEGIN;
INSERT INTO src (ts, region, station, v, f, n)
VALUES ('2024-03-10 15:00:00+00'::timestamptz + :sec * interval '1 second', 'b', 2, :v, 150.5, 1.25),
       (NULL, 'a', 1, :v, -101, 2);
UPDATE src SET v = v - 1 WHERE id = (SELECT max(id) FROM src) - :k - 3;
\if :r < 25
ROLLBACK;
\else
COMMIT;
\endif
};
close $fh;

my $pgbench;
my ($bench_out, $bench_err) = ('', '');

sub start_ingest
{
	my ($seed) = @_;
	($bench_out, $bench_err) = ('', '');
	local $ENV{PGAPPNAME} = 'fg_ingest';
	$pgbench = IPC::Run::start(
		[   'pgbench',       '-n',  '-c', '4',     '-j', '2', '-t', '1000000',
			'--random-seed', $seed, '-f', $script, $node->connstr('postgres')
		],
		'>',
		\$bench_out,
		'2>',
		\$bench_err);
}

sub stop_ingest
{
	$pgbench->kill_kill if $pgbench->pumpable;
	$pgbench->finish;
}

# A server process that died of anything but our SIGKILLs is a bug: report
# it and stop (with restart_after_crash = on the server would otherwise
# crash again and again under the ingest).
sub check_no_crash
{
	my ($what)  = @_;
	my $log     = slurp_file($node->logfile);
	my ($crash) = $log =~ /^(.*terminated by signal (?!9:).*)$/m;
	return unless defined $crash;
	my ($detail) =
	  $log =~ /^.*terminated by signal (?!9:).*\n.*DETAIL:\s*(.*)$/m;
	fail("$what: no server process crashed");
	diag("$crash\n  while running: " . ($detail // '?'));
	$pgbench->kill_kill if $pgbench && $pgbench->pumpable;
	$node->stop('immediate', fail_ok => 1);
	done_testing();
	exit;
}

# wait until at least $more rows were added since $count
sub ingest_until
{
	my ($more) = @_;
	my $count  = $node->safe_psql('postgres', 'SELECT max(id) FROM src') || 0;
	my $ok     = eval {
		$node->poll_query_until('postgres',
			"SELECT coalesce(max(id), 0) >= $count + $more FROM src");
	};
	check_no_crash("ingest of +$more rows");
	ok($ok, "ingest in progress (+$more rows)");
}

# the pids of every server process, to wait for them to be gone
sub server_pids
{
	my $pids = $node->safe_psql('postgres',
		'SELECT string_agg(pid::text, \' \') FROM pg_stat_activity');
	return split / /, $pids;
}

sub wait_gone
{
	my @pids     = @_;
	my $deadline = time() + 60;
	while (grep { kill(0, $_) } @pids)
	{
		die 'server processes outlive the postmaster' if time() > $deadline;
		usleep(50_000);
	}
}

sub kill_postmaster
{
	my @pids = server_pids();
	$node->kill9;
	wait_gone(@pids);
	$node->start;
}

# SIGKILL one child; the postmaster resets every process and recovers
sub kill_child
{
	my ($pid) = @_;
	kill 'KILL', $pid;
	ok(fg_wait_after_crash($node, $pid), 'server accepts connections after crash recovery');
}

sub wait_worker
{
	ok( $node->poll_query_until(
			'postgres',
"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'fluss_grid worker'"
		),
		'a worker runs');
}

# ---------------------------------------------------------------------------
# round 1: kill -9 of the postmaster during ingest, one transaction open

wait_worker();
start_ingest(1);
ingest_until(3000);
my $open = $node->background_psql('postgres', on_error_stop => 0);
$open->query_safe(
	q{BEGIN; INSERT INTO src (ts, region, station, v, f, n)
	SELECT '2024-03-10 15:30:00+00'::timestamptz + g * interval '1 second', 'zz', 1, 1, 100, 1
	  FROM generate_series(1, 1000) g});
ingest_until(1000);
note(
	'pending changes at the crash: '
	  . $node->safe_psql(
		'postgres', 'SELECT sum(pending_changes) FROM fluss_grid.rollups'));
kill_postmaster();
stop_ingest();
$open->{run}->kill_kill;
$open->{run}->finish;
wait_worker();
is( $node->safe_psql(
		'postgres',
q{SELECT (SELECT count(*) FROM src WHERE region = 'zz') + (SELECT count(*) FROM m_realtime WHERE region = 'zz')}
	),
	'0',
	'the transaction open at the crash left nothing behind');
check_all('postmaster kill -9 during ingest');

# ---------------------------------------------------------------------------
# rounds 2..7: kill -9 of the worker, of a writing backend or of the
# postmaster, at different moments of the ingest

my @rounds = (
	[ 'worker',     3000 ],
	[ 'backend',    8000 ],
	[ 'postmaster', 15000 ],
	[ 'worker',     12000 ],
	[ 'postmaster', 5000 ],
	[ 'backend',    2000 ]);
my $round = 1;
for my $r (@rounds)
{
	my ($victim, $rows) = @$r;
	$round++;
	my $what = "round $round: $victim kill -9 after +$rows rows";
	start_ingest($round);
	ingest_until($rows);
	note(
		"$what: pending changes at the crash: "
		  . $node->safe_psql(
			'postgres', 'SELECT sum(pending_changes) FROM fluss_grid.rollups')
	);
	if ($victim eq 'postmaster')
	{
		kill_postmaster();
	}
	else
	{
		my $pid =
		  $victim eq 'worker'
		  ? fg_worker_pid($node)
		  : $node->safe_psql(
			'postgres',
"SELECT pid FROM pg_stat_activity WHERE application_name = 'fg_ingest' ORDER BY state = 'active' DESC LIMIT 1"
		  );
		ok($pid =~ /^\d+$/, "$what: victim found (pid $pid)");
		kill_child($pid);
	}
	stop_ingest();
	wait_worker();
	check_all($what);
}

# ingest goes on after the crashes and is folded
start_ingest(100);
ingest_until(2000);
stop_ingest();
check_all('ingest after the crashes');

# ---------------------------------------------------------------------------
# kill -9 of the postmaster right after a TRUNCATE (and new rows) commits,
# before or while the worker applies it

$node->safe_psql(
	'postgres', q{
	BEGIN;
	TRUNCATE src;
	INSERT INTO src (ts, region, station, v, f, n)
	SELECT '2024-03-10 15:00:00+00'::timestamptz + g * interval '3 seconds',
	       (ARRAY['a', 'b', 'c'])[1 + g % 3], NULLIF(g % 4, 0), g, 100 + g / 8.0, g
	  FROM generate_series(1, 2000) g;
	COMMIT;
});
kill_postmaster();
wait_worker();
check_all('postmaster kill -9 right after TRUNCATE');
start_ingest(200);
ingest_until(2000);
stop_ingest();
check_all('ingest after TRUNCATE and crash');

# ---------------------------------------------------------------------------
# last round: kill -9 of the postmaster right after a large commit, while
# the worker folds it

$node->safe_psql(
	'postgres', q{
	INSERT INTO src (ts, region, station, v, f, n)
	SELECT '2024-03-10 15:00:00+00'::timestamptz + (g % 7200) * interval '1 second',
	       (ARRAY['a', 'b', 'c'])[1 + g % 3], NULLIF(g % 4, 0), g % 1000,
	       100 + (g % 800) / 8.0, g / 100.0
	  FROM generate_series(1, 60000) g;
	DELETE FROM src WHERE id IN (SELECT id FROM src ORDER BY v DESC LIMIT 200);
});
kill_postmaster();
wait_worker();
check_all('postmaster kill -9 during a large fold');

my $log = slurp_file($node->logfile);
my @bad = $log =~ /^(.*(?:PANIC|could not fold|TRAP).*)$/mg;
ok(!@bad, 'no PANIC and no failed fold in the server log')
  or diag(join("\n", @bad[ 0 .. ($#bad < 4 ? $#bad : 4) ]));
my @crashes = $log =~ /^(.*terminated by signal (?!9:).*)$/mg;
ok(!@crashes, 'no process crashed but those killed with SIGKILL')
  or diag(join("\n", @crashes));

$node->stop;
done_testing();
