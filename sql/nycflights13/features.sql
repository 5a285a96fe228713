-- Step 6: the feature table, one row per flight: identifying columns, features from the
-- earlier steps, plane and airport attributes, and the targets arr_delay and delayed (null for
-- cancelled or diverted flights, and for new flights scored by the predict rule). The features
-- rule keeps only flights with a target and counts those it leaves out.

with

flights as (
    select * from flights_timed where flights_timed.in_block
),

planes as (
    select
        raw_planes.tailnum,
        raw_planes.year as built_year,
        raw_planes.seats,
        raw_planes.engines,
        raw_planes.engine
    from raw_planes
),

final as (
    select
        flights.flight_id,
        flights.year,
        flights.month,
        flights.day,
        flights.carrier,
        flights.flight,
        flights.tailnum,
        flights.origin,
        flights.dest,
        flights.sched_dep_time,
        flights.time_hour,
        calendar.day_of_week,
        calendar.day_of_year,
        calendar.sched_dep_hour,
        calendar.sched_dep_minute_of_day,
        calendar.sched_arr_minute_of_day,
        calendar.is_holiday::integer as is_holiday,
        calendar.days_to_holiday,
        flights.distance,
        flights.tz_diff_hours,
        aircraft_history.prev_leg_arr_delay,
        aircraft_history.turnaround_slack_minutes,
        aircraft_history.legs_today,
        congestion.* exclude (flight_id),
        weather_at_departure.* exclude (flight_id),
        flights.year - planes.built_year as plane_age,
        planes.seats as plane_seats,
        planes.engines as plane_engines,
        planes.engine as plane_engine,
        flights.arr_delay,
        -- the task `delayed`: 15 minutes late or more, the US on-time definition (null when
        -- arr_delay is)
        flights.arr_delay >= 15 as delayed
    from flights
    inner join calendar on flights.flight_id = calendar.flight_id
    inner join congestion on flights.flight_id = congestion.flight_id
    inner join weather_at_departure on flights.flight_id = weather_at_departure.flight_id
    left join aircraft_history on flights.flight_id = aircraft_history.flight_id
    left join planes on flights.tailnum = planes.tailnum
)

select * from final
