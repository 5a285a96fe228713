-- Step 4: congestion and reliability: departure delays of flights that had departed by the
-- prediction moment, over three past windows ending at it, per carrier, origin and route.
-- Windows are closed intervals [predicted_at - window, predicted_at]. The high percentile is
-- taken over the day and week windows only: an hour holds too few departures for a stable one.
-- Variables: window_short_minutes, window_day_minutes, window_week_minutes, delay_quantile.
--
-- How it stays fast: windowed aggregates over a stream that mixes departures with
-- (null-valued) moments are slow and scale badly. Instead each (family, key) partition lists
-- its departures first, in time order, then its moments. A moment's window is the contiguous
-- run of departure rows (lo, hi], where hi counts the departures at or before the moment and
-- lo those before the window starts (both by ASOF joins); per-row ROWS offsets reach it.

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

departures as (
    select
        keyed.family,
        keyed.key,
        keyed.actual_dep_utc as event_at,
        keyed.dep_delay
    from keyed
    where keyed.actual_dep_utc is not null
),

departed_by as (
    -- how many departures of the partition happened at or before each departure instant
    select
        departures.family,
        departures.key,
        departures.event_at,
        sum(count(*)) over (
            partition by departures.family, departures.key
            order by departures.event_at
            rows between unbounded preceding and current row
        ) as departed
    from departures
    group by departures.family, departures.key, departures.event_at
),

partition_sizes as (
    select
        departures.family,
        departures.key,
        count(*) as departures
    from departures
    group by departures.family, departures.key
),

moments as (
    select
        keyed.flight_id,
        keyed.family,
        keyed.key,
        keyed.predicted_at,
        keyed.predicted_at - to_minutes(getvariable('window_short_minutes')) as short_from,
        keyed.predicted_at - to_minutes(getvariable('window_day_minutes')) as day_from,
        keyed.predicted_at - to_minutes(getvariable('window_week_minutes')) as week_from,
        row_number() over (
            partition by keyed.family, keyed.key
            order by keyed.predicted_at, keyed.flight_id
        ) as moment_rank
    from keyed
),

with_hi as (
    select
        moments.*,
        coalesce(departed_by.departed, 0) as hi
    from moments
    asof left join departed_by
        on moments.family = departed_by.family
        and moments.key = departed_by.key
        and moments.predicted_at >= departed_by.event_at
),

with_short as (
    select
        with_hi.*,
        coalesce(departed_by.departed, 0) as lo_short
    from with_hi
    asof left join departed_by
        on with_hi.family = departed_by.family
        and with_hi.key = departed_by.key
        and with_hi.short_from > departed_by.event_at
),

with_day as (
    select
        with_short.*,
        coalesce(departed_by.departed, 0) as lo_day
    from with_short
    asof left join departed_by
        on with_short.family = departed_by.family
        and with_short.key = departed_by.key
        and with_short.day_from > departed_by.event_at
),

bounds as (
    -- a moment sits at row (departures + moment_rank); its window's rows are (lo, hi]
    select
        with_day.*,
        coalesce(departed_by.departed, 0) as lo_week,
        coalesce(partition_sizes.departures, 0) + with_day.moment_rank as position
    from with_day
    asof left join departed_by
        on with_day.family = departed_by.family
        and with_day.key = departed_by.key
        and with_day.week_from > departed_by.event_at
    left join partition_sizes
        on with_day.family = partition_sizes.family
        and with_day.key = partition_sizes.key
),

stream as (
    select
        departures.family,
        departures.key,
        false as is_moment,
        departures.event_at,
        null::bigint as flight_id,
        departures.dep_delay as delay,
        0 as short_start,
        0 as day_start,
        0 as week_start,
        1 as window_end
    from departures
    union all
    select
        bounds.family,
        bounds.key,
        true as is_moment,
        bounds.predicted_at as event_at,
        bounds.flight_id,
        0 as delay,
        bounds.position - bounds.lo_short - 1 as short_start,
        bounds.position - bounds.lo_day - 1 as day_start,
        bounds.position - bounds.lo_week - 1 as week_start,
        bounds.position - bounds.hi as window_end
    from bounds
),

windowed as (
    select
        stream.flight_id,
        stream.family,
        avg(stream.delay) over (
            partition by stream.family, stream.key
            order by stream.is_moment, stream.event_at, stream.flight_id
            rows between stream.short_start preceding and stream.window_end preceding
        ) as mean_short,
        avg(stream.delay) over (
            partition by stream.family, stream.key
            order by stream.is_moment, stream.event_at, stream.flight_id
            rows between stream.day_start preceding and stream.window_end preceding
        ) as mean_day,
        avg(stream.delay) over (
            partition by stream.family, stream.key
            order by stream.is_moment, stream.event_at, stream.flight_id
            rows between stream.week_start preceding and stream.window_end preceding
        ) as mean_week,
        quantile_cont(stream.delay, getvariable('delay_quantile')) over (
            partition by stream.family, stream.key
            order by stream.is_moment, stream.event_at, stream.flight_id
            rows between stream.day_start preceding and stream.window_end preceding
        ) as high_day,
        quantile_cont(stream.delay, getvariable('delay_quantile')) over (
            partition by stream.family, stream.key
            order by stream.is_moment, stream.event_at, stream.flight_id
            rows between stream.week_start preceding and stream.window_end preceding
        ) as high_week
    from stream
    qualify stream.is_moment
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
