
# Copyright (c) fluss_grid contributors

# The grid warehouse, exact under dirty workloads.
#
# Every check compares what fluss_grid derived with an independent
# recomputation in plain SQL (written from docs/WAREHOUSE.md, not from the
# SQL the extension generates):
#   DWD and quarantine  the newest ingest_seq of every (station_id, ts) of
#                       ODS, checked by the documented rules in order, joined
#                       to dim_station and dim_region; compared with EXCEPT
#                       ALL both ways (floats exactly: they are copied)
#   DWS                 dws_station_minutely, _hourly and _daily equal a
#                       GROUP BY over DWD by fluss_grid.time_bucket(...,
#                       'Asia/Shanghai'): counts, min, max and last exactly,
#                       averages within a relative 1e-9; ods_ingest_secondly
#                       equals a count of ODS by received_at second
#   accounting          count(ODS) = count(DWD) + count(quarantine) +
#                       superseded versions
#   status              nothing pending, no fold error
#
# 1. Randomized differential: writer sessions run seeded statements against
#    grid.ods_grid_realtime_raw at once while the worker folds (and a
#    session calls fold_now() to race it): multi-row INSERTs and COPY of
#    readings over four hours around a local (Asia/Shanghai) midnight, dirty
#    rows of every rule (NULL, NaN, ±Infinity, frequency 0/60 and the 45/55
#    boundaries, negative load or generation, generation above 110 % of
#    capacity and exactly at it, voltage out of range, unknown stations,
#    timestamps ahead of received_at, exactly 5 minutes ahead and 1 s more),
#    backfills days late, received_at left to its default, corrections,
#    older versions arriving late (explicit lower ingest_seq), UPDATEs of
#    values, ts, station_id and received_at, DELETEs (of the winning version,
#    so the previous one comes back, of whole keys, of extremes, of ranges),
#    transactions that roll back, savepoints, one TRUNCATE.  Each session
#    writes only its own stations (station_id % sessions), so no statement
#    has a reason to wait for another session's row locks: any error, a
#    deadlock or a serialization failure among them, is a finding.  Checks
#    after every phase (writers idle).
# 2. kill -9 of the postmaster during a pgbench stream of inserts,
#    corrections, updates and deletes (a transaction left open), and right
#    after a large commit: nothing lost, nothing counted twice.
# 3. Logical replication: a plain publisher's ODS-shaped table (primary key
#    ingest_seq) replicated into the warehouse's ODS: initial copy,
#    INSERT/UPDATE/DELETE (also of ingest_seq and of winners), a rolled back
#    DELETE, TRUNCATE, new rows.
# 4. pg_dump -Fc of the warehouse with changes not folded
#    (fluss_grid.enabled = off), pg_restore into a fresh database of a fresh
#    cluster: no error, the pending changes folded exactly once, a later
#    correction wins, new rows reach DWD and DWS.
#
# FG_SEED=<n> replays a seed (the statements, not the interleaving);
# FG_SESSIONS, FG_PHASES and FG_STATEMENTS change the size of part 1.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use FlussGridTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX       qw(strftime);
use Time::HiRes qw(time usleep);

my $seed = int($ENV{FG_SEED} || (time() * 1000 % 1_000_000_007));
my $nsessions   = $ENV{FG_SESSIONS}   || 3;
my $nphases     = $ENV{FG_PHASES}     || 3;
my $nstatements = $ENV{FG_STATEMENTS} || 400;    # per session and phase
diag(   "007_warehouse: seed $seed (replay with FG_SEED=$seed), "
	  . "$nsessions sessions x $nphases phases x $nstatements statements");
srand($seed);
my $t_start  = time();
my $failures = 0;

my $conf = q{
max_connections = 40
deadlock_timeout = 100ms
log_lock_waits = on
restart_after_crash = on
# the comparison queries are large; JIT would only add seconds per query
jit = off
};

my $S    = 'grid';
my $ODS  = "$S.ods_grid_realtime_raw";
my $cols = 'station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv';

# ---------------------------------------------------------------------------
# the independent recomputation

# DWD and quarantine as docs/WAREHOUSE.md defines them: the newest version
# of every key, then the rules in their order (the first that applies is
# the reason); frequency_ok and voltage_ok with the documented formulas
my $expected_cte = qq{
  newest AS (
    SELECT o.*, row_number() OVER (PARTITION BY o.station_id, o.ts ORDER BY o.ingest_seq DESC) AS rn
      FROM $ODS o),
  judged AS (
    SELECT n.station_id, n.ts, n.ingest_seq, n.received_at,
           n.load_mw, n.generation_mw, n.frequency_hz, n.voltage_kv,
           s.region, s.kind, s.capacity_mw, s.nominal_kv,
           abs(n.frequency_hz - r.nominal_frequency_hz) <= r.frequency_limit_hz AS f_ok,
           abs(n.voltage_kv / s.nominal_kv - 1) * 100 <= r.voltage_limit_pct AS v_ok,
           CASE
             WHEN s.station_id IS NULL THEN 'unknown station'
             WHEN num_nulls(n.load_mw, n.generation_mw, n.frequency_hz, n.voltage_kv) > 0
               THEN 'missing value'
             WHEN 'NaN'::float8 IN (n.load_mw, n.generation_mw, n.frequency_hz, n.voltage_kv)
                  OR 'Infinity'::float8 IN (abs(n.load_mw), abs(n.generation_mw),
                                            abs(n.frequency_hz), abs(n.voltage_kv))
               THEN 'NaN or infinite value'
             WHEN NOT (n.frequency_hz BETWEEN 45 AND 55) THEN 'frequency outside 45-55 Hz'
             WHEN n.load_mw < 0 THEN 'negative load'
             WHEN n.generation_mw < 0 THEN 'negative generation'
             WHEN n.generation_mw > 1.1::float8 * s.capacity_mw THEN 'generation above 110% of capacity'
             WHEN NOT (n.voltage_kv > 0 AND n.voltage_kv <= 1.5::float8 * s.nominal_kv)
               THEN 'voltage out of range'
             WHEN n.ts - n.received_at > interval '5 minutes' THEN 'timestamp in the future'
           END AS reason
      FROM newest n
      LEFT JOIN $S.dim_station s ON s.station_id = n.station_id
      LEFT JOIN $S.dim_region r ON r.region = s.region
     WHERE n.rn = 1)};

my $dwd_cols =
  'station_id, ts, ingest_seq, grid_region, station_kind, capacity_mw, nominal_kv, '
  . 'load_mw, generation_mw, frequency_hz, voltage_kv, frequency_ok, voltage_ok, received_at';
my $dwd_expected =
	"SELECT station_id, ts, ingest_seq, region, kind, capacity_mw, nominal_kv, "
  . "load_mw, generation_mw, frequency_hz, voltage_kv, f_ok, v_ok, received_at "
  . "FROM judged WHERE reason IS NULL";
my $q_cols =
  'station_id, ts, ingest_seq, reason, received_at, load_mw, generation_mw, frequency_hz, voltage_kv';
my $q_expected = "SELECT $q_cols FROM judged WHERE reason IS NOT NULL";

# rows of table $got and of query $want (over the CTEs above) that the
# other lacks, as (side, row)
sub except_sql
{
	my ($got, $want) = @_;
	return qq{
	  WITH $expected_cte,
	       g AS ($got), e AS ($want)
	  SELECT 'missing' AS side, x::text AS r FROM (SELECT * FROM e EXCEPT ALL SELECT * FROM g) x
	  UNION ALL
	  SELECT 'unexpected', y::text FROM (SELECT * FROM g EXCEPT ALL SELECT * FROM e) y
	  ORDER BY 2, 1};
}

# DWS columns: [name, expected aggregate over DWD, exact or float]
my @dws_aggs = (
	[ 'n_readings',        'count(*)',                             'exact' ],
	[ 'avg_load_mw',       'avg(load_mw)',                         'float' ],
	[ 'max_load_mw',       'max(load_mw)',                         'exact' ],
	[ 'min_load_mw',       'min(load_mw)',                         'exact' ],
	[ 'avg_generation_mw', 'avg(generation_mw)',                   'float' ],
	[ 'max_generation_mw', 'max(generation_mw)',                   'exact' ],
	[ 'avg_frequency_hz',  'avg(frequency_hz)',                    'float' ],
	[ 'min_frequency_hz',  'min(frequency_hz)',                    'exact' ],
	[ 'max_frequency_hz',  'max(frequency_hz)',                    'exact' ],
	[ 'n_frequency_ok',    'count(*) FILTER (WHERE frequency_ok)', 'exact' ],
	[ 'avg_voltage_kv',    'avg(voltage_kv)',                      'float' ],
	[ 'n_voltage_ok',      'count(*) FILTER (WHERE voltage_ok)',   'exact' ],);
# last(x): the value of the row with the greatest ts in the bucket
my @last_aggs =
  map { [ "last_$_", "(array_agg($_ ORDER BY ts DESC))[1]", 'exact' ] }
  qw(load_mw generation_mw frequency_hz voltage_kv);

my @dws = (
	[ 'dws_station_minutely', '1 minute', [ @dws_aggs, @last_aggs ] ],
	[ 'dws_station_hourly',   '1 hour',   \@dws_aggs ],
	[ 'dws_station_daily',    '1 day',    \@dws_aggs ],);

# groups of rollup $rel that differ from the GROUP BY over DWD
sub dws_diff_sql
{
	my ($rel, $width, $aggs) = @_;
	my (@sel, @cmp, @msg);
	for my $a (@$aggs)
	{
		my ($name, $expr, $how) = @$a;
		push @sel, "$expr AS $name";
		my $c =
		  $how eq 'exact'
		  ? "(g.$name IS NOT DISTINCT FROM e.$name)"
		  : "coalesce(g.$name IS NOT DISTINCT FROM e.$name OR abs(g.$name - e.$name) <= 1e-9 * abs(e.$name) + 1e-12, false)";
		push @cmp, $c;
		push @msg,
		  "CASE WHEN NOT $c THEN format('%s: got %s, expected %s', '$name', "
		  . "coalesce(g.$name\::text, 'NULL'), coalesce(e.$name\::text, 'NULL')) END";
	}
	return qq{
	  WITH e AS (SELECT fluss_grid.time_bucket('$width', ts, 'Asia/Shanghai') AS bucket,
	                    grid_region, station_id, station_kind, } . join(', ', @sel) . qq{
	               FROM $S.dwd_grid_measurement GROUP BY 1, 2, 3, 4),
	       g AS (SELECT * FROM $S.$rel)
	  SELECT coalesce(e.bucket, g.bucket) AS bucket, coalesce(e.station_id, g.station_id) AS station_id,
	         CASE WHEN e.bucket IS NULL THEN 'row not in GROUP BY'
	              WHEN g.bucket IS NULL THEN 'row missing'
	              ELSE concat_ws('; ', } . join(",\n\t\t\t\t", @msg) . qq{) END AS diff
	    FROM e FULL JOIN g
	      ON e.bucket = g.bucket AND e.station_id = g.station_id
	     AND e.grid_region IS NOT DISTINCT FROM g.grid_region
	     AND e.station_kind IS NOT DISTINCT FROM g.station_kind
	   WHERE e.bucket IS NULL OR g.bucket IS NULL OR NOT (} . join("\n\t\t AND ", @cmp) . qq{)
	   ORDER BY 1, 2};
}

# ods_ingest_secondly: ODS rows by received_at second (the rollup's own zone)
my $secondly_sql = qq{
	  WITH e AS (SELECT fluss_grid.time_bucket('1 second', received_at,
	                        (SELECT time_zone FROM fluss_grid.rollup
	                          WHERE rollup_rel = '$S.ods_ingest_secondly'::regclass)) AS bucket,
	                    count(*) AS n_rows
	               FROM $ODS GROUP BY 1),
	       g AS (SELECT bucket, n_rows FROM $S.ods_ingest_secondly)
	  SELECT 'missing', x::text FROM (SELECT * FROM e EXCEPT ALL SELECT * FROM g) x
	  UNION ALL
	  SELECT 'unexpected', y::text FROM (SELECT * FROM g EXCEPT ALL SELECT * FROM e) y
	  ORDER BY 2};

# run diff query $sql on $node/$db: ok when it returns no row
sub check_empty
{
	my ($node, $db, $sql, $what) = @_;
	my ($ret, $out, $err) = $node->psql($db,
		"SET extra_float_digits = 3; SELECT count(*) FROM ($sql) x; $sql LIMIT 8");
	if ($ret != 0)
	{
		fail("$what (query failed)");
		diag("seed $seed: $err");
		$failures++;
		return 0;
	}
	my ($count, @rows) = split /\n/, $out;
	return 1 if is($count, '0', $what);
	diag("seed $seed: $count differences, first ones:");
	diag("  $_") for @rows;
	$failures++;
	return 0;
}

# every exactness check of the warehouse in $db of $node, after
# wait_for_rollups()
sub check_warehouse
{
	my ($node, $db, $label) = @_;
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql($db, 'SELECT fluss_grid.wait_for_rollups()');
	if (!is("$ret $out", '0 t', "$label: wait_for_rollups() returns true"))
	{
		diag("seed $seed: $err");
		diag($node->safe_psql($db,
				'SELECT name, pending_changes, last_error FROM fluss_grid.transforms'
				  . ' UNION ALL SELECT name, pending_changes, last_error FROM fluss_grid.rollups'));
		$failures++;
	}
	is( $node->safe_psql(
			$db, q{
			SELECT coalesce(string_agg(n || ': ' || coalesce(e, 'pending ' || p), ', '), '')
			  FROM (SELECT name::text AS n, pending_changes AS p, last_error AS e FROM fluss_grid.transforms
			        UNION ALL
			        SELECT name::text, pending_changes, last_error FROM fluss_grid.rollups) s
			 WHERE p > 0 OR e IS NOT NULL}),
		'',
		"$label: nothing pending, no fold error") or $failures++;
	check_empty($node, $db,
		except_sql("SELECT $dwd_cols FROM $S.dwd_grid_measurement", $dwd_expected),
		"$label: dwd_grid_measurement equals the recomputation from ODS");
	check_empty($node, $db,
		except_sql("SELECT $q_cols FROM $S.dwd_grid_quarantine", $q_expected),
		"$label: dwd_grid_quarantine equals the recomputation from ODS (reasons included)");
	my $acc = $node->safe_psql(
		$db, qq{
		SELECT (SELECT count(*) FROM $ODS), (SELECT count(*) FROM $S.dwd_grid_measurement),
		       (SELECT count(*) FROM $S.dwd_grid_quarantine),
		       (SELECT count(*) - count(DISTINCT (station_id, ts)) FROM $ODS)});
	my ($ods, $dwd, $quar, $super) = split /\|/, $acc;
	is($ods, $dwd + $quar + $super,
		"$label: count(ODS) = count(DWD) + count(quarantine) + superseded ($ods = $dwd + $quar + $super)")
	  or $failures++;
	check_empty($node, $db, dws_diff_sql(@$_),
		"$label: $_->[0] equals GROUP BY over DWD")
	  for @dws;
	check_empty($node, $db, $secondly_sql,
		"$label: ods_ingest_secondly equals the count of ODS by received_at second");
	note(sprintf("%s: %d ODS rows, %d in DWD, %d quarantined, %d superseded; checks took %.1f s",
			$label, $ods, $dwd, $quar, $super, time() - $t0));
	return ($ods, $dwd, $quar, $super);
}

# a process that died of anything but our SIGKILLs is a finding: say so
sub check_no_crash
{
	my ($node, $what) = @_;
	my $log = slurp_file($node->logfile);
	my @crashes = $log =~ /^(.*terminated by signal (?!9:).*)$/mg;
	my @panics  = $log =~ /^(.*(?:PANIC|TRAP:).*)$/mg;
	ok(!@crashes && !@panics, "$what: no server process crashed")
	  or diag(join("\n", @crashes, @panics));
	return !@crashes && !@panics;
}

# ---------------------------------------------------------------------------
# random readings

my $base_epoch = 1773496800;    # 2026-03-14 14:00:00 UTC = 22:00 Asia/Shanghai
my $hours      = 4;             # local midnight at 16:00 UTC splits the days

sub pick   { return $_[ int(rand(@_)) ]; }
sub chance { return rand() < $_[0]; }
sub ts_text { return strftime('%Y-%m-%d %H:%M:%S+00', gmtime($_[0])); }

# stations: id => [capacity_mw, nominal_kv, kind]; filled from dim_station
my %station;

# a measurement time: mostly the 40 minutes around local midnight (several
# readings per station and minute), else anywhere in the four hours, a few
# days late (backfill)
sub rand_epoch
{
	my $r = rand();
	return $base_epoch + 6000 + int(rand(2400)) if $r < 0.6;
	return $base_epoch - (1 + int(rand(9))) * 86400 + int(rand(14400))
	  if $r < 0.65;
	return $base_epoch + int(rand($hours * 3600));
}

# received_at for a reading at $t: undef for the column default
# (clock_timestamp(), months after the readings), else an epoch
sub rand_received
{
	my ($t) = @_;
	my $r = rand();
	return undef                    if $r < 0.07;
	return $t - 301 - int(rand(7200)) if $r < 0.11;    # ahead of arrival
	return $t - 301                 if $r < 0.13;      # by 5 minutes and 1 s
	return $t - 300                 if $r < 0.15;      # by exactly 5 minutes
	return $t - 40 * 86400          if $r < 0.16;      # far in the future
	return $base_epoch + int(rand($hours * 3600)) if $t < $base_epoch;  # late
	return $t + int(rand(20));
}

sub num { return sprintf('%.3f', $_[0]); }

# the four values of a reading at station $st, as text or undef (NULL):
# mostly plausible, a quarter of them dirty by one rule or at a boundary
sub rand_values
{
	my ($st) = @_;
	my ($cap, $nom, $kind) = @{ $station{$st} // [ 300, 220, 'substation' ] };
	my $load = num($kind eq 'substation' ? rand($cap) : rand($cap * 0.05));
	my $gen  = num($kind eq 'substation' ? 0 : rand($cap));
	my $f    = num(50 + (rand() - 0.5) * 0.6);
	my $v    = num($nom * (1 + (rand() - 0.5) * 0.14));
	my @v    = ($load, $gen, $f, $v);
	if (chance(0.28))
	{
		my $d = int(rand(17));
		if    ($d == 0) { $v[ int(rand(4)) ] = undef; }
		elsif ($d == 1) { $v[ int(rand(4)) ] = 'NaN'; }
		elsif ($d == 2) { $v[ int(rand(4)) ] = pick('Infinity', '-Infinity'); }
		elsif ($d == 3) { $v[2] = pick('0', '60', '44.999', '55.001'); }
		elsif ($d == 4) { $v[2] = pick('45', '55'); }    # boundaries: valid
		elsif ($d == 5) { $v[2] = pick('50.2', '49.8', '50.199', '49.801'); }
		elsif ($d == 6) { $v[0] = num(-1 - rand(50)); }
		elsif ($d == 7) { $v[0] = '0'; }
		elsif ($d == 8) { $v[1] = num(-1 - rand(50)); }
		elsif ($d == 9) { $v[1] = sprintf('%.17g', $cap * 1.1); } # at 110 %: valid
		elsif ($d == 10) { $v[1] = num($cap * 1.1 + 0.001 + rand(100)); }
		elsif ($d == 11) { $v[3] = pick('0', '-1'); }
		elsif ($d == 12) { $v[3] = sprintf('%.17g', $nom * 1.5); }    # valid
		elsif ($d == 13) { $v[3] = num($nom * 1.5 + 0.001 + rand(10)); }
		elsif ($d == 14) { $v[3] = num($nom * pick(0.95, 1.05, 0.949, 1.051)); }
		elsif ($d == 15) { $v[0] = '-0'; }
		else             { @v = (undef, undef, undef, undef); }
	}
	return @v;
}

sub sql_lit { return defined $_[0] ? "'$_[0]'" : 'NULL'; }
sub copy_lit { return defined $_[0] ? $_[0] : '\\N'; }

# ---------------------------------------------------------------------------
# part 1: the randomized differential

my $node = fg_node('warehouse', conf => $conf);
$node->safe_psql('postgres',
	"CREATE EXTENSION fluss_grid; SELECT fluss_grid.create_grid_warehouse(schema => '$S', stations => 70)");
for my $row (split /\n/,
	$node->safe_psql('postgres', "SELECT station_id, capacity_mw, nominal_kv, kind FROM $S.dim_station"))
{
	my ($id, $cap, $nom, $kind) = split /\|/, $row;
	$station{$id} = [ $cap, $nom, $kind ];
}
is(scalar(keys %station), 70, 'part 1: the warehouse has 70 stations');

# the stations of session $k: its known ones and three unknown ids
my (%own, %keys);
for my $k (0 .. $nsessions - 1)
{
	$own{$k} = [ (grep { $_ % $nsessions == $k } sort { $a <=> $b } keys %station),
		map { 900 + $k + $nsessions * $_ } 0 .. 2 ];
	$keys{$k} = [];
}
my %older_seq = map { $_ => -1_000_000 * ($_ + 1) } 0 .. $nsessions - 1;

# a new key of session $k
sub new_key
{
	my ($k) = @_;
	my $key = [ pick(@{ $own{$k} }), rand_epoch() ];
	push @{ $keys{$k} }, $key;
	return $key;
}

# a key session $k wrote before (a new one if none)
sub old_key
{
	my ($k) = @_;
	return new_key($k) unless @{ $keys{$k} };
	return pick(@{ $keys{$k} });
}

# one reading of key $key: [received_at or undef, station, ts, 4 values]
sub reading
{
	my ($key) = @_;
	my ($st, $t) = @$key;
	return [ rand_received($t), $st, $t, rand_values($st) ];
}

sub insert_sql
{
	my (@rows) = @_;
	my @vals;
	for my $r (@rows)
	{
		my ($rcv, $st, $t, @v) = @$r;
		push @vals,
		  '(' . join(', ',
			defined $rcv ? "'" . ts_text($rcv) . "'" : 'DEFAULT',
			$st, "'" . ts_text($t) . "'", map { sql_lit($_) } @v) . ')';
	}
	return "INSERT INTO $ODS (received_at, $cols) VALUES\n  " . join(",\n  ", @vals) . ';';
}

sub copy_sql
{
	my (@rows) = @_;
	my $default = chance(0.2);    # received_at left to its default
	my $s = "COPY $ODS (" . ($default ? '' : 'received_at, ') . "$cols) FROM stdin;\n";
	for my $r (@rows)
	{
		my ($rcv, $st, $t, @v) = @$r;
		$rcv //= $t + 1;
		$s .= join("\t",
			($default ? () : ts_text($rcv)),
			$st, ts_text($t), map { copy_lit($_) } @v) . "\n";
	}
	return $s . "\\.";
}

# the condition of key $key; the winning version of it
sub key_cond
{
	my ($key) = @_;
	return "station_id = $key->[0] AND ts = '" . ts_text($key->[1]) . "'";
}
sub winner_cond
{
	my ($key) = @_;
	return "ingest_seq = (SELECT max(ingest_seq) FROM $ODS WHERE " . key_cond($key) . ')';
}

# one statement of session $k
sub statement
{
	my ($k) = @_;
	my $r = rand();
	if ($r < 0.28)
	{
		# new readings; now and then the same key twice in one statement
		my @rows = map { reading(new_key($k)) } 1 .. 1 + int(rand(12));
		push @rows, reading([ @{ $rows[0] }[ 1, 2 ] ]) if chance(0.1);
		return insert_sql(@rows);
	}
	if ($r < 0.38)
	{
		return copy_sql(map { reading(chance(0.15) ? old_key($k) : new_key($k)) }
			  1 .. 5 + int(rand(30)));
	}
	if ($r < 0.48)
	{
		# corrections: known keys again, other values
		return insert_sql(map { reading(old_key($k)) } 1 .. 1 + int(rand(3)));
	}
	if ($r < 0.51)
	{
		# an older version arriving late: a lower ingest_seq than any
		# identity value, so it must not replace the winner
		my $rd = reading(old_key($k));
		my ($rcv, $st, $t, @v) = @$rd;
		$older_seq{$k}--;
		return "INSERT INTO $ODS (ingest_seq, received_at, $cols) VALUES ($older_seq{$k}, "
		  . (defined $rcv ? "'" . ts_text($rcv) . "'" : 'DEFAULT')
		  . ", $st, '" . ts_text($t) . "', " . join(', ', map { sql_lit($_) } @v) . ');';
	}
	if ($r < 0.59)
	{
		# new values for the winner, or for every version of a key
		my $key = old_key($k);
		my (undef, undef, undef, @v) = @{ reading($key) };
		my @c = qw(load_mw generation_mw frequency_hz voltage_kv);
		my @set = map { "$c[$_] = " . sql_lit($v[$_]) } grep { chance(0.6) } 0 .. 3;
		@set = ("load_mw = load_mw + 1") unless @set;
		return "UPDATE $ODS SET " . join(', ', @set) . ' WHERE '
		  . (chance(0.6) ? winner_cond($key) : key_cond($key)) . ';';
	}
	if ($r < 0.63)
	{
		# the winner moves to another time (a new key or a known one)
		my $key = old_key($k);
		my $to  = chance(0.5) ? old_key($k) : new_key($k);
		push @{ $keys{$k} }, [ $key->[0], $to->[1] ];
		return "UPDATE $ODS SET ts = '" . ts_text($to->[1]) . "' WHERE " . winner_cond($key) . ';';
	}
	if ($r < 0.66)
	{
		# every version of a key moves to another station of the session
		my $key = old_key($k);
		my $st  = pick(@{ $own{$k} });
		push @{ $keys{$k} }, [ $st, $key->[1] ];
		return "UPDATE $ODS SET station_id = $st WHERE " . key_cond($key) . ';';
	}
	if ($r < 0.68)
	{
		# arrival time rewritten: ahead of it by an hour, or a minute after
		my $key = old_key($k);
		return "UPDATE $ODS SET received_at = ts "
		  . pick("- interval '1 hour'", "+ interval '1 minute'", "- interval '5 minutes'")
		  . ' WHERE ' . key_cond($key) . ';';
	}
	if ($r < 0.79)
	{
		# the winner deleted: the previous version comes back
		return "DELETE FROM $ODS WHERE " . winner_cond(old_key($k)) . ';';
	}
	if ($r < 0.84)
	{
		return "DELETE FROM $ODS WHERE " . key_cond(old_key($k)) . ';';
	}
	if ($r < 0.87)
	{
		# the extremes of a station: its largest load, its last reading
		my $st = pick(@{ $own{$k} });
		my $order = pick('load_mw DESC NULLS LAST', 'ts DESC', 'generation_mw DESC NULLS LAST');
		return "DELETE FROM $ODS WHERE ingest_seq IN (SELECT ingest_seq FROM $ODS"
		  . " WHERE station_id = $st ORDER BY $order, ingest_seq LIMIT 1 + "
		  . int(rand(3)) . ');';
	}
	if ($r < 0.88)
	{
		my $key = old_key($k);
		return "DELETE FROM $ODS WHERE station_id = $key->[0] AND ts BETWEEN '"
		  . ts_text($key->[1] - 60) . "' AND '" . ts_text($key->[1] + 60) . "';";
	}
	if ($r < 0.90)
	{
		# corrections by INSERT ... SELECT of the winners of a station
		my $st = pick(@{ $own{$k} });
		return "INSERT INTO $ODS (received_at, $cols) SELECT received_at + interval '10 seconds', "
		  . "station_id, ts, load_mw * 1.5, generation_mw, frequency_hz + 0.01, voltage_kv FROM $ODS"
		  . " WHERE station_id = $st AND ts >= '" . ts_text($base_epoch + 6000 + int(rand(2400)))
		  . "' ORDER BY ts LIMIT 3;";
	}
	return insert_sql(map { reading(new_key($k)) } 1 .. 1 + int(rand(20)));
}

# the script of session $k for one phase
sub session_script
{
	my ($k, $n, $truncate_at) = @_;
	my @s;
	push @s, "SET TimeZone = '" . pick('UTC', 'Asia/Shanghai', 'America/New_York') . "';";
	push @s, "SET fluss_grid.capture_method = '" . pick('c', 'sql') . "';";
	my $count = 0;
	while ($count < $n)
	{
		if (defined $truncate_at && $count >= $truncate_at)
		{
			undef $truncate_at;
			# once rolled back, once committed with rows after it
			push @s, 'BEGIN;', statement($k), "TRUNCATE $ODS;", statement($k), 'ROLLBACK;';
			push @s, 'BEGIN;', "TRUNCATE $ODS;", statement($k), statement($k), 'COMMIT;';
			$count += 2;
			next;
		}
		if (chance(0.12))
		{
			my @t = ('BEGIN;');
			push @t, statement($k) for 1 .. 1 + int(rand(4));
			if (chance(0.35))
			{
				push @t, 'SAVEPOINT sp;', statement($k), statement($k),
				  'ROLLBACK TO SAVEPOINT sp;', statement($k);
			}
			push @t, chance(0.3) ? 'ROLLBACK;' : 'COMMIT;';
			push @s, @t;
			$count += @t;
			next;
		}
		push @s, statement($k);
		$count++;
	}
	return join("\n", @s) . "\n";
}

my $tmp     = PostgreSQL::Test::Utils::tempdir;
my $connstr = $node->connstr('postgres');
my $truncate_phase = 1 + int(rand($nphases > 1 ? $nphases - 1 : 1));

sub run_phase
{
	my ($phase) = @_;
	my (@h, @out, @err);
	my $t0 = time();
	for my $k (0 .. $nsessions - 1)
	{
		my $truncate_at =
		  ($phase == $truncate_phase && $k == 0) ? int(rand($nstatements)) : undef;
		my $file = "$tmp/phase${phase}_s$k.sql";
		open my $fh, '>', $file or die "could not write $file: $!";
		print $fh session_script($k, $nstatements, $truncate_at);
		close $fh;
		($out[$k], $err[$k]) = ('', '');
		push @h,
		  IPC::Run::start(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-f', $file ],
			'>', \$out[$k], '2>', \$err[$k]);
	}
	# a session folding now and then, racing the worker
	my ($fout, $ferr) = ('', '');
	my $ffile = "$tmp/folder.sql";
	open my $ffh, '>', $ffile or die "could not write $ffile: $!";
	print $ffh "SELECT fluss_grid.fold_now() >= 0, pg_sleep(0.2);\n" x 12;
	close $ffh;
	my $folder = IPC::Run::start(
		[ 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-f', $ffile ],
		'>', \$fout, '2>', \$ferr);

	for my $k (0 .. $nsessions - 1)
	{
		$h[$k]->finish;
		my $rc = $h[$k]->result(0);
		if (!is($rc . $err[$k], '0', "part 1, phase $phase: session $k ran without errors"))
		{
			diag("seed $seed, phase $phase, session $k (script $tmp/phase${phase}_s$k.sql): $err[$k]");
			$failures++;
		}
	}
	$folder->finish;
	ok($folder->result(0) == 0 && $ferr eq '' && $fout !~ /^f/m,
		"part 1, phase $phase: fold_now() in a session ran without errors")
	  or diag("seed $seed: fold_now session: $ferr");
	note(sprintf("phase %d: writers took %.1f s", $phase, time() - $t0));
}

for my $phase (1 .. $nphases)
{
	# every other phase is folded in small batches, over several transactions
	my $batch = ($phase % 2 == 0) ? 20 + int(rand(180)) : 0;
	$node->safe_psql('postgres', "ALTER SYSTEM SET fluss_grid.batch_size = $batch");
	$node->reload;
	note("phase $phase: batch_size $batch" . ($phase == $truncate_phase ? ', with a TRUNCATE' : ''));
	run_phase($phase);
	unless (check_no_crash($node, "part 1, phase $phase"))
	{
		# a crashed backend took the server down: stop here
		$node->stop('immediate', fail_ok => 1);
		done_testing();
		exit;
	}
	check_warehouse($node, 'postgres', "part 1, checkpoint $phase");
}
$node->safe_psql('postgres', 'ALTER SYSTEM RESET fluss_grid.batch_size');
$node->reload;

# the workload covered what it is meant to
my $cover = $node->safe_psql(
	'postgres', qq{
	SELECT (SELECT count(DISTINCT reason) FROM $S.dwd_grid_quarantine),
	       (SELECT count(*) - count(DISTINCT (station_id, ts)) FROM $ODS),
	       (SELECT count(DISTINCT (fluss_grid.time_bucket('1 day', ts, 'Asia/Shanghai')))
	          FROM $S.dwd_grid_measurement WHERE ts >= '2026-03-14 14:00+00'),
	       (SELECT count(*) FROM $S.dws_station_minutely WHERE n_readings > 1),
	       (SELECT count(*) FROM $ODS WHERE ingest_seq < 0)});
my ($nreasons, $nsuper, $ndays, $multi, $nolder) = split /\|/, $cover;
note("coverage: $nreasons reasons, $nsuper superseded, $ndays local days in the window,"
	  . " $multi minutes with several readings of a station, $nolder late older versions");
ok($nreasons >= 8, "part 1: the quarantine holds most reasons ($nreasons of 9)");
ok($nsuper > 20 && $ndays == 2 && $multi > 50,
	'part 1: the workload left corrections, both local days and busy minutes');

# ---------------------------------------------------------------------------
# part 2: kill -9 of the postmaster during ingest

my $bench = "$tmp/ingest.sql";
open my $bfh, '>', $bench or die "could not write $bench: $!";
print $bfh qq{
\\set st random(1, 73)
\\set sec random(0, 14399)
\\set r random(0, 99)
\\set k random(1, 60)
INSERT INTO $ODS (received_at, $cols)
SELECT ts + CASE WHEN g = 9 THEN interval '-1 hour' ELSE interval '2 seconds' END, st, ts,
       CASE WHEN g = 3 THEN 'NaN'::float8 WHEN g = 5 THEN -1 ELSE (:sec + g * 13) % 300 END,
       CASE WHEN g = 7 THEN NULL ELSE coalesce(s.capacity_mw, 100) * ((g * 7) % 10) / 10.0 END,
       CASE WHEN g = 11 THEN 60 ELSE 49.75 + ((:sec + g) % 11) * 0.05 END,
       coalesce(s.nominal_kv, 220) * (0.93 + ((:sec + g) % 15) * 0.01)
  FROM (SELECT g, 1 + (:st + g * 7) % 73 AS st,
               '2026-03-15 14:00:00+00'::timestamptz + ((:sec + g * 37) % 14400) * interval '1 second' AS ts
          FROM generate_series(1, 20) g) x
  LEFT JOIN $S.dim_station s ON s.station_id = x.st;
\\if :r < 30
INSERT INTO $ODS (received_at, $cols)
SELECT received_at + interval '1 minute', station_id, ts, load_mw + 1, generation_mw, frequency_hz, voltage_kv
  FROM $ODS WHERE ingest_seq = (SELECT max(ingest_seq) FROM $ODS) - :k;
\\elif :r < 50
DELETE FROM $ODS WHERE ingest_seq = (SELECT max(ingest_seq) FROM $ODS WHERE station_id = :st);
\\elif :r < 60
UPDATE $ODS SET load_mw = load_mw + 2, ts = ts + interval '1 second'
 WHERE ingest_seq = (SELECT max(ingest_seq) FROM $ODS) - :k;
\\elif :r < 65
UPDATE $ODS SET station_id = 1 + (station_id + 1) % 73 WHERE ingest_seq = (SELECT max(ingest_seq) FROM $ODS) - :k - 5;
\\endif
BEGIN;
INSERT INTO $ODS (received_at, $cols)
VALUES ('2026-03-15 15:00:00+00'::timestamptz + :sec * interval '1 second', 1 + :st % 70,
        '2026-03-15 15:00:00+00'::timestamptz + :sec * interval '1 second', 12.5, 0, 50, 220);
DELETE FROM $ODS WHERE ingest_seq = (SELECT max(ingest_seq) FROM $ODS) - :k - 2;
\\if :r < 25
ROLLBACK;
\\else
COMMIT;
\\endif
};
close $bfh;

my ($pgbench, $bench_out, $bench_err);

sub start_ingest
{
	my ($s) = @_;
	($bench_out, $bench_err) = ('', '');
	$pgbench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '3', '-j', '1', '-t', '1000000',
		  '--random-seed', $s, '-f', $bench, $node->connstr('postgres') ],
		'>', \$bench_out, '2>', \$bench_err);
}

sub stop_ingest
{
	$pgbench->kill_kill if $pgbench->pumpable;
	$pgbench->finish;
}

# wait until $more rows were inserted by the ingest
sub ingest_until
{
	my ($more) = @_;
	my $max = $node->safe_psql('postgres', "SELECT coalesce(max(ingest_seq), 0) FROM $ODS");
	ok( $node->poll_query_until('postgres',
			"SELECT coalesce(max(ingest_seq), 0) >= $max + $more FROM $ODS"),
		"part 2: ingest in progress (+$more rows)");
}

sub server_pids
{
	return split / /,
	  $node->safe_psql('postgres', q{SELECT string_agg(pid::text, ' ') FROM pg_stat_activity});
}

sub kill_postmaster
{
	my @pids = server_pids();
	$node->kill9;
	my $deadline = time() + 60;
	while (grep { kill(0, $_) } @pids)
	{
		die 'server processes outlive the postmaster' if time() > $deadline;
		usleep(50_000);
	}
	$node->start;
}

sub wait_worker
{
	my ($what) = @_;
	ok(fg_poll_until($node, 'postgres', fg_workers_sql('postgres', 1), 60),
		"$what: a worker runs after the restart");
}

# round 1: during the ingest, a transaction open
start_ingest($seed % 100000);
ingest_until(2000);
my $open = $node->background_psql('postgres', on_error_stop => 0);
$open->query_safe(
	qq{BEGIN; INSERT INTO $ODS (received_at, $cols)
	SELECT '2026-03-15 16:00:00+00', 1, '2026-03-15 16:00:00+00'::timestamptz + g * interval '1 second',
	       77777, 1, 50, 500
	  FROM generate_series(1, 500) g});
ingest_until(1000);
note('part 2: pending changes at the crash: '
	  . $node->safe_psql('postgres', 'SELECT sum(pending_changes) FROM fluss_grid.transforms'));
kill_postmaster();
stop_ingest();
$open->{run}->kill_kill;
$open->{run}->finish;
wait_worker('part 2, kill -9 during ingest');
check_no_crash($node, 'part 2, kill -9 during ingest');
is( $node->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM $ODS WHERE load_mw = 77777) + "
		  . "(SELECT count(*) FROM $S.dwd_grid_measurement WHERE load_mw = 77777)"),
	'0', 'part 2: the transaction open at the crash left nothing behind');
check_warehouse($node, 'postgres', 'part 2, after kill -9 during ingest');

# round 2: right after a large commit, while the worker folds it
$node->safe_psql(
	'postgres', qq{
	INSERT INTO $ODS (received_at, $cols)
	SELECT ts + interval '1 second', st, ts, (g % 500) / 4.0, 0, 49.9 + (g % 5) * 0.05, 220 + g % 7
	  FROM (SELECT g, 1 + g % 71 AS st,
	               '2026-03-14 15:30:00+00'::timestamptz + (g % 5400) * interval '1 second' AS ts
	          FROM generate_series(1, 30000) g) x;
	DELETE FROM $ODS WHERE ingest_seq IN
	  (SELECT max(ingest_seq) FROM $ODS WHERE station_id % 5 = 0 GROUP BY station_id, ts HAVING count(*) > 1);
});
kill_postmaster();
wait_worker('part 2, kill -9 during a large fold');
check_no_crash($node, 'part 2, kill -9 during a large fold');
check_warehouse($node, 'postgres', 'part 2, after kill -9 during a large fold');

# the ingest goes on after the crashes
start_ingest(($seed + 1) % 100000);
ingest_until(1500);
stop_ingest();
check_warehouse($node, 'postgres', 'part 2, ingest after the crashes');

# ---------------------------------------------------------------------------
# part 3: logical replication into the warehouse's ODS

my $pub = PostgreSQL::Test::Cluster->new('wh_publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;
my $sub = fg_node('wh_subscriber', conf => $conf);

# readings with explicit ingest_seq from the publisher's counter: every
# station of the warehouse and a few unknown ones, dirty rows included
my $pub_seq = 0;
my @pub_stations = ((sort { $a <=> $b } keys %station), 901, 902);
sub pub_insert
{
	my ($n) = @_;
	my @vals;
	for (1 .. $n)
	{
		my $st = pick(@pub_stations);
		# a third of them on a 10-second grid of ten minutes: corrections
		my $t = chance(0.3) ? $base_epoch + 6900 + 10 * int(rand(60)) : rand_epoch();
		my $rcv = rand_received($t) // ($t + 3);
		push @vals, '(' . join(', ', ++$pub_seq, "'" . ts_text($rcv) . "'", $st,
				"'" . ts_text($t) . "'", map { sql_lit($_) } rand_values($st)) . ')';
	}
	return "INSERT INTO $ODS (ingest_seq, received_at, $cols) VALUES\n" . join(",\n", @vals) . ';';
}

# the subscriber caught up with the publisher (bounded: an apply worker
# that fails retries forever)
sub caught_up
{
	my ($what) = @_;
	$pub->wait_for_catchup('grid_sub');
	is($sub->safe_psql('grid', "SELECT count(*), sum(ingest_seq) FROM $ODS"),
		$pub->safe_psql('grid', "SELECT count(*), sum(ingest_seq) FROM $ODS"),
		"part 3: the subscriber's ODS equals the publisher's $what");
}

sub logical_replication
{
	$pub->safe_psql('postgres', 'CREATE DATABASE grid');
	$sub->safe_psql('postgres', 'CREATE DATABASE grid');
	$pub->safe_psql(
		'grid', qq{
		CREATE SCHEMA $S;
		CREATE TABLE $ODS (
		    ingest_seq    bigint PRIMARY KEY,
		    received_at   timestamptz NOT NULL,
		    station_id    integer NOT NULL,
		    ts            timestamptz NOT NULL,
		    load_mw       double precision,
		    generation_mw double precision,
		    frequency_hz  double precision,
		    voltage_kv    double precision);
		CREATE PUBLICATION grid_pub FOR TABLE $ODS;
	});
	$pub->safe_psql('grid', pub_insert(1500));
	$sub->safe_psql(
		'grid', qq{
		CREATE EXTENSION fluss_grid;
		SELECT fluss_grid.create_grid_warehouse(schema => '$S', stations => 70);
		ALTER TABLE $ODS ADD PRIMARY KEY (ingest_seq);
	});
	my $pub_conn = $pub->connstr . ' dbname=grid';
	$sub->safe_psql('grid',
		"CREATE SUBSCRIPTION grid_sub CONNECTION '$pub_conn' PUBLICATION grid_pub WITH (copy_data = true)");
	if (!ok( fg_poll_until($sub, 'grid',
				q{SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')}, 30),
			'part 3: the initial table sync into the warehouse ODS completes'))
	{
		my @errors = slurp_file($sub->logfile) =~ /^.*?(ERROR:.*)$/mg;
		my %seen;
		diag("part 3: the table sync worker fails: "
			  . join(' / ', grep { !$seen{$_}++ } @errors[ 0 .. ($#errors < 5 ? $#errors : 5) ]));
		diag('part 3: EXTENSION BUG: the transform\'s row capture trigger (enabled REPLICA, for the'
			  . ' apply worker) rejects every row it fires for; reproduce with'
			  . ' SET session_replication_role = replica; INSERT INTO grid.ods_grid_realtime_raw ...');
		$failures++;
		return;
	}
	is($sub->safe_psql('grid', "SELECT count(*) FROM $ODS"), '1500',
		'part 3: the initial sync copied the rows');
	check_warehouse($sub, 'grid', 'part 3, after the initial copy');

	# replicated changes: rows, corrections, values, keys, versions, winners
	$pub->safe_psql('grid', pub_insert(1000) . qq{
		UPDATE $ODS SET load_mw = load_mw * 2, frequency_hz = 50.25 WHERE ingest_seq % 7 = 0;
		UPDATE $ODS SET ts = ts + interval '1 minute' WHERE ingest_seq % 11 = 0;
		UPDATE $ODS SET station_id = 1 + station_id % 70 WHERE ingest_seq % 13 = 0;
		UPDATE $ODS SET ingest_seq = ingest_seq + 1000000 WHERE ingest_seq % 17 = 0;
		UPDATE $ODS SET received_at = ts - interval '1 hour' WHERE ingest_seq % 19 = 0;
		DELETE FROM $ODS WHERE ingest_seq IN
		  (SELECT max(ingest_seq) FROM $ODS GROUP BY station_id, ts HAVING count(*) > 1);
		DELETE FROM $ODS WHERE ingest_seq % 23 = 0;
		BEGIN; DELETE FROM $ODS; ROLLBACK;
	});
	caught_up('after INSERT/UPDATE/DELETE');
	check_warehouse($sub, 'grid', 'part 3, after replicated INSERT/UPDATE/DELETE');

	# the worker folds replicated rows without being asked
	$pub->safe_psql('grid', pub_insert(200));
	caught_up('after more rows');
	ok( fg_poll_until($sub, 'grid',
			"SELECT (SELECT count(*) FROM $S.dwd_grid_measurement) + (SELECT count(*) FROM $S.dwd_grid_quarantine)"
			  . " = (SELECT count(DISTINCT (station_id, ts)) FROM $ODS)", 30),
		'part 3: the worker folds replicated rows by itself');

	# a replicated TRUNCATE, then new rows
	$pub->safe_psql('grid', "TRUNCATE $ODS");
	caught_up('after TRUNCATE');
	check_warehouse($sub, 'grid', 'part 3, after a replicated TRUNCATE');
	is( $sub->safe_psql('grid',
			"SELECT (SELECT count(*) FROM $S.dwd_grid_measurement) + (SELECT count(*) FROM $S.dwd_grid_quarantine)"
			  . " + (SELECT count(*) FROM $S.dws_station_minutely) + (SELECT count(*) FROM $S.dws_station_daily)"
			  . " + (SELECT count(*) FROM $S.ods_ingest_secondly)"),
		'0', 'part 3: DWD, quarantine and DWS are empty after the replicated TRUNCATE');
	$pub->safe_psql('grid', pub_insert(800) . "DELETE FROM $ODS WHERE ingest_seq % 5 = 0;");
	caught_up('after new rows');
	my ($n_after) = check_warehouse($sub, 'grid', 'part 3, new rows after the TRUNCATE');
	ok($n_after > 500, "part 3: rows flow again after the TRUNCATE ($n_after)");
	return;
}

{
	# an apply worker that keeps failing must not hold the test for minutes
	local $PostgreSQL::Test::Utils::timeout_default = 60;
	if (!eval { logical_replication(); 1 })
	{
		fail('part 3: logical replication into the warehouse');
		diag("part 3 stopped: $@");
		$failures++;
	}
}
$sub->safe_psql('grid', 'DROP SUBSCRIPTION IF EXISTS grid_sub');
check_no_crash($sub, 'part 3 subscriber');
$sub->stop;
$pub->stop;

# ---------------------------------------------------------------------------
# part 4: pg_dump with changes not folded, pg_restore into a fresh cluster

is($node->safe_psql('postgres', 'SELECT fluss_grid.wait_for_rollups()'), 't',
	'part 4: old cluster folded everything');
$node->safe_psql('postgres', 'ALTER SYSTEM SET fluss_grid.enabled = off');
$node->reload;
ok($node->poll_query_until('postgres', "SELECT current_setting('fluss_grid.enabled') = 'off'"),
	'part 4: fluss_grid.enabled is off');
my $passes = $node->safe_psql('postgres',
	"SELECT passes FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'postgres'");
ok( $node->poll_query_until('postgres',
		"SELECT passes >= $passes + 3 FROM fluss_grid.workers() WHERE role = 'first' AND datname = 'postgres'"),
	'part 4: the worker has seen the reload');

# the pending batch: new readings, corrections, deleted winners, moved rows
my @pend = map { reading(new_key(0)) } 1 .. 300;
push @pend, map { reading(old_key(1)) } 1 .. 100;
$node->safe_psql('postgres',
	insert_sql(@pend) . qq{
	DELETE FROM $ODS WHERE ingest_seq IN
	  (SELECT max(ingest_seq) FROM $ODS WHERE station_id % 3 = 1 GROUP BY station_id, ts HAVING count(*) > 1);
	UPDATE $ODS SET ts = ts + interval '30 seconds' WHERE ingest_seq % 97 = 0;
	UPDATE $ODS SET load_mw = 0.5 WHERE ingest_seq % 89 = 0;
	DELETE FROM $ODS WHERE ingest_seq % 83 = 0;
});
my $pending = $node->safe_psql('postgres',
	'SELECT (SELECT sum(pending_changes) FROM fluss_grid.transforms) || \'|\' || '
	  . "(SELECT sum(pending_changes) FROM fluss_grid.rollups WHERE name = '$S.ods_ingest_secondly'::regclass)");
my ($pend_t, $pend_r) = split /\|/, $pending;
ok($pend_t > 0 && $pend_r > 0,
	"part 4: changes pending at dump time (transform $pend_t, ods_ingest_secondly $pend_r)");

my $dump = "$tmp/warehouse.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', 'postgres' ],
	'part 4: pg_dump, custom format');
my $ods_old = $node->safe_psql('postgres', "SELECT count(*), sum(ingest_seq) FROM $ODS");
check_no_crash($node, 'parts 1, 2 and 4 (old cluster)');
$node->stop;

my $new = fg_node('wh_restore', conf => $conf . "fluss_grid.naptime = 10\n");
$new->safe_psql('postgres', 'CREATE DATABASE grid_restored');
my (undef, $restore_err) = run_command(
	[ 'pg_restore', '-d', 'grid_restored', '-h', $new->host, '-p', $new->port, $dump ]);
is(join("\n", grep { /ERROR|FATAL|^\s*DETAIL|Command was/ } split /\n/, $restore_err),
	'', 'part 4: pg_restore reports no error');
is($new->safe_psql('grid_restored', "SELECT count(*), sum(ingest_seq) FROM $ODS"),
	$ods_old, 'part 4: ODS restored');
ok(fg_poll_until($new, 'grid_restored', fg_workers_sql('grid_restored', 1), 20),
	'part 4: a worker runs for the restored database without being asked');
$new->safe_psql('grid_restored', 'SELECT fluss_grid.start_worker()');
my (undef, $dwd_restored) =
  check_warehouse($new, 'grid_restored', 'part 4, restored (pending changes folded once)');

# a correction after the restore must win over the restored versions, and
# new readings must reach DWD and every DWS rollup
my $key = $new->safe_psql('grid_restored',
	"SELECT station_id || '|' || ts FROM $S.dwd_grid_measurement ORDER BY ts DESC, station_id LIMIT 1");
my ($kst, $kts) = split /\|/, $key;
$new->safe_psql('grid_restored',
	"INSERT INTO $ODS (received_at, $cols) VALUES ('$kts', $kst, '$kts', 0.25, 0, 50, "
	  . "(SELECT nominal_kv FROM $S.dim_station WHERE station_id = $kst));"
	  . insert_sql(map { reading([ 1 + int(rand(70)), $base_epoch + 7200 + $_ * 7 ]) } 1 .. 200));
my (undef, $dwd_new) = check_warehouse($new, 'grid_restored', 'part 4, new rows after the restore');
is( $new->safe_psql('grid_restored',
		"SELECT load_mw FROM $S.dwd_grid_measurement WHERE station_id = $kst AND ts = '$kts'"),
	'0.25', 'part 4: a correction written after the restore wins (the identity went on)');
is( $new->safe_psql('grid_restored',
		"SELECT last_load_mw FROM $S.dws_station_minutely"
		  . " WHERE bucket = fluss_grid.time_bucket('1 minute', '$kts'::timestamptz, 'Asia/Shanghai')"
		  . " AND station_id = $kst"),
	'0.25', 'part 4: the correction reached the minutely rollup (its last reading)');
ok($dwd_new > $dwd_restored, "part 4: new readings reached DWD ($dwd_restored -> $dwd_new rows)");
check_no_crash($new, 'part 4 restored cluster');
$new->stop;

diag("007_warehouse: seed $seed had failures; replay with FG_SEED=$seed") if $failures;
note(sprintf('007_warehouse took %.1f s', time() - $t_start));
done_testing();
