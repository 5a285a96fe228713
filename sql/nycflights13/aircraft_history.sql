-- Step 3: what the aircraft (tailnum) did before the prediction moment.
--   prev_leg_arr_delay        arrival delay of its last leg that had landed by then
--   turnaround_slack_minutes  scheduled departure minus that leg's actual arrival
--   legs_today                its legs that had departed by then, same scheduled local date
-- Flights without a tailnum get nulls: nothing is known of their aircraft.
-- Rows are made for the flights in the block; the landings it can see come from the landings
-- step. Legs of the same local date departed at most legs_lookback_days (three) before the
-- block's start (delays are at most two days). Variables: block_from, block_to, legs_lookback_days.

with

flights as (
    select
        flights_timed.flight_id,
        flights_timed.tailnum,
        flights_timed.local_date,
        flights_timed.predicted_at,
        flights_timed.sched_dep_utc
    from flights_timed
    where flights_timed.tailnum is not null
        and flights_timed.in_block
),

departures_and_moments as (
    -- departures count 1 at their actual departure; each flight's moment counts 0
    select
        flights_timed.tailnum,
        flights_timed.local_date,
        flights_timed.actual_dep_utc as event_at,
        1 as departed,
        null::bigint as flight_id
    from flights_timed
    where flights_timed.tailnum is not null
        and flights_timed.actual_dep_utc
        >= getvariable('block_from') - to_days(getvariable('legs_lookback_days'))
        and flights_timed.actual_dep_utc < getvariable('block_to')
    union all
    select
        flights.tailnum,
        flights.local_date,
        flights.predicted_at as event_at,
        0 as departed,
        flights.flight_id
    from flights
),

legs_so_far as (
    select
        departures_and_moments.flight_id,
        sum(departures_and_moments.departed) over (
            partition by departures_and_moments.tailnum, departures_and_moments.local_date
            order by departures_and_moments.event_at
            range between unbounded preceding and current row
        )::integer as legs_today
    from departures_and_moments
    qualify departures_and_moments.flight_id is not null
),

last_landing as (
    select
        flights.flight_id,
        landings.arr_delay as prev_leg_arr_delay,
        date_diff('minute', landings.actual_arr_utc, flights.sched_dep_utc)
            as turnaround_slack_minutes
    from flights
    asof left join landings
        on flights.tailnum = landings.tailnum
        and flights.predicted_at >= landings.actual_arr_utc
),

final as (
    select
        last_landing.flight_id,
        last_landing.prev_leg_arr_delay,
        last_landing.turnaround_slack_minutes,
        legs_so_far.legs_today
    from last_landing
    inner join legs_so_far on last_landing.flight_id = legs_so_far.flight_id
)

select * from final
