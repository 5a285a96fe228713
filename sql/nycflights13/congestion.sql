-- Step 4: congestion and reliability: departure delays of flights that had departed by the
-- prediction moment, over three past windows ending at it, per carrier, origin and route.
-- Windows are closed intervals [predicted_at - window, predicted_at]. The high percentile is
-- taken over the day window only: an hour holds too few departures for a stable one, and over
-- the week it cost as much as all the other features while the models gave it no importance.
-- Rows are made for the flights in the block; departures count from the longest window before
-- the block's start.
-- Variables: windows_short, windows_day, windows_week, delay_quantile,
-- block_from.
--
-- How it stays fast: every (key, moment) pair is computed once, however many flights share it.
-- A moment's window is the contiguous run (lo, hi] of its key's departures in time order: hi
-- counts the departures at or before the moment, lo those before the window starts (ASOF joins
-- on running counts). The means are differences of running delay sums. For the percentiles
-- each key lists its departures first, in time order, then its moments; per-row ROWS offsets
-- reach the run, so no frame ever holds a null.

with

flights as (
    select
        flights_timed.flight_id,
        flights_timed.carrier,
        flights_timed.origin,
        flights_timed.origin || '-' || flights_timed.dest as route,
        epoch_us(flights_timed.predicted_at) as predicted_at,
        epoch_us(flights_timed.actual_dep_utc) as actual_dep_utc,
        flights_timed.dep_delay,
        flights_timed.in_block
    from flights_timed
    where flights_timed.in_block
        or (
            flights_timed.actual_dep_utc >= getvariable('block_from') - to_minutes(
                greatest(
                    getvariable('windows_short'),
                    getvariable('windows_day'),
                    getvariable('windows_week')
                )
            )
            and flights_timed.actual_dep_utc < getvariable('block_to')
        )
),

key_ids as (
    -- integer partition keys sort, hash and join faster than text
    select
        keys.family,
        keys.key,
        row_number() over () as key_id
    from (
        select distinct 'carrier' as family, flights.carrier as key from flights
        union all
        select distinct 'origin' as family, flights.origin as key from flights
        union all
        select distinct 'route' as family, flights.route as key from flights
    ) as keys
),

flights_keyed as materialized (
    select
        flights.flight_id,
        flights.predicted_at,
        flights.actual_dep_utc,
        flights.dep_delay,
        flights.in_block,
        carrier_key.key_id as carrier_id,
        origin_key.key_id as origin_id,
        route_key.key_id as route_id
    from flights
    inner join key_ids as carrier_key
        on carrier_key.family = 'carrier' and flights.carrier = carrier_key.key
    inner join key_ids as origin_key
        on origin_key.family = 'origin' and flights.origin = origin_key.key
    inner join key_ids as route_key
        on route_key.family = 'route' and flights.route = route_key.key
),

keyed as (
    select
        flights_keyed.carrier_id as key_id,
        flights_keyed.predicted_at,
        flights_keyed.actual_dep_utc,
        flights_keyed.dep_delay,
        flights_keyed.in_block
    from flights_keyed
    union all
    select
        flights_keyed.origin_id as key_id,
        flights_keyed.predicted_at,
        flights_keyed.actual_dep_utc,
        flights_keyed.dep_delay,
        flights_keyed.in_block
    from flights_keyed
    union all
    select
        flights_keyed.route_id as key_id,
        flights_keyed.predicted_at,
        flights_keyed.actual_dep_utc,
        flights_keyed.dep_delay,
        flights_keyed.in_block
    from flights_keyed
),

departures as materialized (
    select
        keyed.key_id,
        keyed.actual_dep_utc as event_at,
        keyed.dep_delay
    from keyed
    where keyed.actual_dep_utc is not null
),

departed_by as materialized (
    -- how many departures of the key happened at or before each departure instant, and their
    -- delay sum (exact in double: integer delays), kept at the last departure of each instant
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

moments as materialized (
    -- each (key, instant) once: flights sharing a key and a prediction moment share features
    select
        keyed.key_id,
        keyed.predicted_at,
        keyed.predicted_at - getvariable('windows_short')::bigint * 60000000
            as short_from,
        keyed.predicted_at - getvariable('windows_day')::bigint * 60000000
            as day_from,
        keyed.predicted_at - getvariable('windows_week')::bigint * 60000000
            as week_from,
        row_number() over (
            partition by keyed.key_id order by keyed.predicted_at
        ) as moment_rank
    from keyed
    where keyed.in_block
    group by keyed.key_id, keyed.predicted_at
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
        with_day.key_id,
        with_day.predicted_at,
        with_day.moment_rank,
        with_day.hi,
        with_day.lo_day,
        (with_day.sum_hi - with_day.sum_lo_short) / nullif(with_day.hi - with_day.lo_short, 0)
            as mean_short,
        (with_day.sum_hi - with_day.sum_lo_day) / nullif(with_day.hi - with_day.lo_day, 0)
            as mean_day,
        (with_day.sum_hi - coalesce(departed_by.delay_sum, 0))
        / nullif(with_day.hi - coalesce(departed_by.departed, 0), 0) as mean_week,
        coalesce(partition_sizes.departures, 0) + with_day.moment_rank as position
    from with_day
    asof left join departed_by
        on with_day.key_id = departed_by.key_id
        and with_day.week_from > departed_by.event_at
    left join partition_sizes
        on with_day.key_id = partition_sizes.key_id
),

stream as (
    -- one integer orders the key: departures by instant, then moments by rank; a narrow row
    -- keeps the window's sort in memory
    select
        departures.key_id,
        departures.event_at as stream_order,
        false as is_moment,
        departures.dep_delay as delay,
        0 as day_start,
        1 as window_end
    from departures
    union all
    select
        bounds.key_id,
        (1::bigint << 62) + bounds.moment_rank as stream_order,
        true as is_moment,
        0 as delay,
        bounds.position - bounds.lo_day - 1 as day_start,
        bounds.position - bounds.hi as window_end
    from bounds
),

percentiles as materialized (
    select
        stream.key_id,
        stream.stream_order - (1::bigint << 62) as moment_rank,
        quantile_cont(stream.delay, getvariable('delay_quantile')) over (
            partition by stream.key_id
            order by stream.stream_order
            rows between stream.day_start preceding and stream.window_end preceding
        ) as high_day
    from stream
    qualify stream.is_moment
),

moment_features as materialized (
    select
        bounds.key_id,
        bounds.predicted_at,
        bounds.mean_short,
        bounds.mean_day,
        percentiles.high_day,
        bounds.mean_week
    from bounds
    inner join percentiles
        on bounds.key_id = percentiles.key_id and bounds.moment_rank = percentiles.moment_rank
),

final as (
    -- every flight has a moment per family; left joins keep the optimizer from joining the
    -- three look-ups with each other first (on predicted_at alone, which explodes)
    select
        flights_keyed.flight_id,
        by_carrier.mean_short as carrier_delay_mean_short,
        by_carrier.mean_day as carrier_delay_mean_day,
        by_carrier.high_day as carrier_delay_high_day,
        by_carrier.mean_week as carrier_delay_mean_week,
        by_origin.mean_short as origin_delay_mean_short,
        by_origin.mean_day as origin_delay_mean_day,
        by_origin.high_day as origin_delay_high_day,
        by_origin.mean_week as origin_delay_mean_week,
        by_route.mean_short as route_delay_mean_short,
        by_route.mean_day as route_delay_mean_day,
        by_route.high_day as route_delay_high_day,
        by_route.mean_week as route_delay_mean_week
    from flights_keyed
    left join moment_features as by_carrier
        on flights_keyed.carrier_id = by_carrier.key_id
        and flights_keyed.predicted_at = by_carrier.predicted_at
    left join moment_features as by_origin
        on flights_keyed.origin_id = by_origin.key_id
        and flights_keyed.predicted_at = by_origin.predicted_at
    left join moment_features as by_route
        on flights_keyed.route_id = by_route.key_id
        and flights_keyed.predicted_at = by_route.predicted_at
    where flights_keyed.in_block
)

select * from final
