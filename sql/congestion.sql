-- Step 4: congestion and reliability: departure delays of flights that had departed by the
-- prediction moment, over three past windows ending at it, per carrier, origin and route.
-- Windows are closed intervals [predicted_at - window, predicted_at]. The high percentile is
-- taken over the day and week windows only: an hour holds too few departures for a stable one.
-- Variables: window_short_minutes, window_day_minutes, window_week_minutes, delay_quantile.
--
-- How it stays fast: windowed aggregates over a stream that mixes departures with
-- (null-valued) moments are slow and scale badly. A moment's window is the contiguous run
-- (lo, hi] of its partition's departures in time order, where hi counts the departures at or
-- before the moment and lo those before the window starts (ASOF joins on running counts, by
-- integer key and instant). The means are differences of running delay sums. For the
-- percentiles each partition lists its departures first, in time order, then its moments;
-- per-row ROWS offsets reach the run.

with

flights as (
    select
        flights_timed.flight_id,
        flights_timed.carrier,
        flights_timed.origin,
        flights_timed.dest,
        flights_timed.predicted_at,
        flights_timed.actual_dep_utc,
        flights_timed.dep_delay
    from flights_timed
),

families as (
    select family from (values ('carrier'), ('origin'), ('route')) as families (family)
),

keyed as (
    select
        flights.*,
        families.family,
        case families.family
            when 'carrier' then flights.carrier
            when 'origin' then flights.origin
            else flights.origin || '-' || flights.dest
        end as key
    from flights
    cross join families
),

key_ids as (
    -- integer partition keys sort, hash and join faster than (family, text) pairs
    select
        keyed.family,
        keyed.key,
        row_number() over () as key_id
    from keyed
    group by keyed.family, keyed.key
),

keyed_ids as materialized (
    -- instants as integer microseconds (exact) compare faster than timestamps
    select
        keyed.flight_id,
        key_ids.key_id,
        epoch_us(keyed.predicted_at) as predicted_at,
        epoch_us(keyed.actual_dep_utc) as actual_dep_utc,
        keyed.dep_delay
    from keyed
    inner join key_ids on keyed.family = key_ids.family and keyed.key = key_ids.key
),

departures as (
    select
        keyed_ids.key_id,
        keyed_ids.actual_dep_utc as event_at,
        keyed_ids.dep_delay
    from keyed_ids
    where keyed_ids.actual_dep_utc is not null
),

departed_by as materialized (
    -- how many departures of the partition happened at or before each departure instant,
    -- and their delay sum (exact in double: integer delays), kept at the last departure of
    -- each instant; running row numbers are cheaper than grouping first
    select
        departures.key_id,
        departures.event_at,
        row_number() over running_order as departed,
        sum(departures.dep_delay::double) over (
            running_order rows between unbounded preceding and current row
        ) as delay_sum
    from departures
    window running_order as (partition by departures.key_id order by departures.event_at)
    qualify lead(departures.event_at) over running_order is distinct from departures.event_at
),

partition_sizes as (
    select
        departures.key_id,
        count(*) as departures
    from departures
    group by departures.key_id
),

moments as (
    select
        keyed_ids.flight_id,
        keyed_ids.key_id,
        keyed_ids.predicted_at,
        keyed_ids.predicted_at - getvariable('window_short_minutes')::bigint * 60000000
            as short_from,
        keyed_ids.predicted_at - getvariable('window_day_minutes')::bigint * 60000000
            as day_from,
        keyed_ids.predicted_at - getvariable('window_week_minutes')::bigint * 60000000
            as week_from,
        row_number() over (
            partition by keyed_ids.key_id
            order by keyed_ids.predicted_at, keyed_ids.flight_id
        ) as moment_rank
    from keyed_ids
),

with_hi as (
    select
        moments.*,
        coalesce(departed_by.departed, 0) as hi,
        coalesce(departed_by.delay_sum, 0) as sum_hi
    from moments
    asof left join departed_by
        on moments.key_id = departed_by.key_id
        and moments.predicted_at >= departed_by.event_at
),

with_short as (
    select
        with_hi.*,
        coalesce(departed_by.departed, 0) as lo_short,
        coalesce(departed_by.delay_sum, 0) as sum_lo_short
    from with_hi
    asof left join departed_by
        on with_hi.key_id = departed_by.key_id
        and with_hi.short_from > departed_by.event_at
),

with_day as (
    select
        with_short.*,
        coalesce(departed_by.departed, 0) as lo_day,
        coalesce(departed_by.delay_sum, 0) as sum_lo_day
    from with_short
    asof left join departed_by
        on with_short.key_id = departed_by.key_id
        and with_short.day_from > departed_by.event_at
),

bounds as materialized (
    -- a moment sits at row (departures + moment_rank); its window's rows are (lo, hi]
    select
        with_day.*,
        coalesce(departed_by.departed, 0) as lo_week,
        coalesce(departed_by.delay_sum, 0) as sum_lo_week,
        coalesce(partition_sizes.departures, 0) + with_day.moment_rank as position
    from with_day
    asof left join departed_by
        on with_day.key_id = departed_by.key_id
        and with_day.week_from > departed_by.event_at
    left join partition_sizes
        on with_day.key_id = partition_sizes.key_id
),

stream as (
    -- one integer orders the partition: departures by instant, then moments by rank; a narrow
    -- row keeps the window's sort in memory
    select
        departures.key_id,
        departures.event_at as stream_order,
        null::bigint as flight_id,
        departures.dep_delay as delay,
        0 as day_start,
        0 as week_start,
        1 as window_end
    from departures
    union all
    select
        bounds.key_id,
        (1::bigint << 62) + bounds.moment_rank as stream_order,
        bounds.flight_id,
        0 as delay,
        bounds.position - bounds.lo_day - 1 as day_start,
        bounds.position - bounds.lo_week - 1 as week_start,
        bounds.position - bounds.hi as window_end
    from bounds
),

percentiles as (
    select
        stream.flight_id,
        stream.key_id,
        quantile_cont(stream.delay, getvariable('delay_quantile')) over (
            partition by stream.key_id
            order by stream.stream_order
            rows between stream.day_start preceding and stream.window_end preceding
        ) as high_day,
        quantile_cont(stream.delay, getvariable('delay_quantile')) over (
            partition by stream.key_id
            order by stream.stream_order
            rows between stream.week_start preceding and stream.window_end preceding
        ) as high_week
    from stream
    qualify stream.flight_id is not null
),

windowed as (
    select
        percentiles.flight_id,
        key_ids.family,
        (bounds.sum_hi - bounds.sum_lo_short) / nullif(bounds.hi - bounds.lo_short, 0)
            as mean_short,
        (bounds.sum_hi - bounds.sum_lo_day) / nullif(bounds.hi - bounds.lo_day, 0) as mean_day,
        (bounds.sum_hi - bounds.sum_lo_week) / nullif(bounds.hi - bounds.lo_week, 0)
            as mean_week,
        percentiles.high_day,
        percentiles.high_week
    from percentiles
    inner join bounds
        on percentiles.flight_id = bounds.flight_id and percentiles.key_id = bounds.key_id
    inner join key_ids on percentiles.key_id = key_ids.key_id
),

final as (
    select
        windowed.flight_id,
        max(windowed.mean_short) filter (where windowed.family = 'carrier')
            as carrier_delay_mean_short,
        max(windowed.mean_day) filter (where windowed.family = 'carrier')
            as carrier_delay_mean_day,
        max(windowed.high_day) filter (where windowed.family = 'carrier')
            as carrier_delay_high_day,
        max(windowed.mean_week) filter (where windowed.family = 'carrier')
            as carrier_delay_mean_week,
        max(windowed.high_week) filter (where windowed.family = 'carrier')
            as carrier_delay_high_week,
        max(windowed.mean_short) filter (where windowed.family = 'origin')
            as origin_delay_mean_short,
        max(windowed.mean_day) filter (where windowed.family = 'origin')
            as origin_delay_mean_day,
        max(windowed.high_day) filter (where windowed.family = 'origin')
            as origin_delay_high_day,
        max(windowed.mean_week) filter (where windowed.family = 'origin')
            as origin_delay_mean_week,
        max(windowed.high_week) filter (where windowed.family = 'origin')
            as origin_delay_high_week,
        max(windowed.mean_short) filter (where windowed.family = 'route')
            as route_delay_mean_short,
        max(windowed.mean_day) filter (where windowed.family = 'route')
            as route_delay_mean_day,
        max(windowed.high_day) filter (where windowed.family = 'route')
            as route_delay_high_day,
        max(windowed.mean_week) filter (where windowed.family = 'route')
            as route_delay_mean_week,
        max(windowed.high_week) filter (where windowed.family = 'route')
            as route_delay_high_week
    from windowed
    group by windowed.flight_id
)

select * from final
