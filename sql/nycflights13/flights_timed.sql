-- Step 1: every raw flight with its times in UTC and the moments its outcome became known.
--   predicted_at    scheduled departure minus the horizon: the prediction moment
--   actual_dep_utc  when it departed (null if cancelled): its dep_delay is known from then
--   actual_arr_utc  when it landed (null if cancelled or diverted): its arr_delay is known from then
--   in_block        its prediction moment falls in the block being built, [block_from, block_to):
--                   the later steps make rows for these flights; the others are history only
-- Variables: horizon_minutes, block_from, block_to.

with

flights as (
    select
        raw_flights.flight_id,
        raw_flights.year,
        raw_flights.month,
        raw_flights.day,
        raw_flights.carrier,
        raw_flights.flight,
        raw_flights.tailnum,
        raw_flights.origin,
        raw_flights.dest,
        raw_flights.sched_dep_time,
        raw_flights.sched_arr_time,
        raw_flights.minute,
        raw_flights.dep_delay,
        raw_flights.arr_delay,
        raw_flights.distance,
        raw_flights.time_hour
    from raw_flights
),

airport_zones as (
    select
        raw_airports.faa,
        raw_airports.tzone
    from raw_airports
    union all
    select
        raw_airport_timezones.faa,
        raw_airport_timezones.tzone
    from raw_airport_timezones
    where raw_airport_timezones.faa not in (select raw_airports.faa from raw_airports)
),

scheduled as (
    -- time_hour is the scheduled departure hour in UTC; the scheduled minute completes it.
    select
        flights.*,
        make_date(flights.year, flights.month, flights.day) as local_date,
        flights.time_hour + to_minutes(flights.minute) as sched_dep_utc,
        origin_zone.tzone as origin_tzone,
        dest_zone.tzone as dest_tzone
    from flights
    left join airport_zones as origin_zone on flights.origin = origin_zone.faa
    left join airport_zones as dest_zone on flights.dest = dest_zone.faa
),

arrival_schedule as (
    -- sched_arr_time is local at the destination; a result before departure means next day.
    select
        scheduled.*,
        timezone(
            scheduled.dest_tzone,
            scheduled.local_date::timestamp
            + to_minutes((scheduled.sched_arr_time // 100) * 60 + scheduled.sched_arr_time % 100)
        ) as sched_arr_same_day
    from scheduled
),

timed as (
    select
        arrival_schedule.*,
        arrival_schedule.sched_dep_utc - to_minutes(getvariable('horizon_minutes'))
            as predicted_at,
        arrival_schedule.sched_dep_utc + to_minutes(arrival_schedule.dep_delay)
            as actual_dep_utc,
        case
            when arrival_schedule.sched_arr_same_day < arrival_schedule.sched_dep_utc
                then arrival_schedule.sched_arr_same_day + interval 1 day
            else arrival_schedule.sched_arr_same_day
        end as sched_arr_utc
    from arrival_schedule
),

final as (
    select
        timed.flight_id,
        timed.year,
        timed.month,
        timed.day,
        timed.local_date,
        timed.carrier,
        timed.flight,
        timed.tailnum,
        timed.origin,
        timed.dest,
        timed.sched_dep_time,
        timed.sched_arr_time,
        timed.time_hour,
        timed.distance,
        timed.dep_delay,
        timed.arr_delay,
        timed.sched_dep_utc,
        timed.predicted_at,
        timed.actual_dep_utc,
        timed.sched_arr_utc,
        timed.sched_arr_utc + to_minutes(timed.arr_delay) as actual_arr_utc,
        timed.predicted_at >= getvariable('block_from')
        and timed.predicted_at < getvariable('block_to') as in_block,
        -- hours the destination's clock is ahead of the origin's on the day of the flight
        date_diff(
            'minute',
            timezone(timed.origin_tzone, timed.sched_dep_utc),
            timezone(timed.dest_tzone, timed.sched_dep_utc)
        ) / 60.0 as tz_diff_hours
    from timed
)

select * from final
