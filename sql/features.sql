-- Flight features for arrival-delay prediction, one row per flight that landed.
-- The prediction moment is the scheduled departure minus $horizon_minutes: every feature
-- uses only what was known by then.
-- Inputs (registered by snakeml.features): raw_flights, raw_weather, raw_planes.

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
        raw_flights.distance,
        raw_flights.time_hour,
        raw_flights.arr_delay,
        -- time_hour is the scheduled departure hour in UTC; add the scheduled minute.
        raw_flights.time_hour + to_minutes(raw_flights.minute) as sched_dep_utc
    from raw_flights
),

weather as (
    -- A handful of (origin, time_hour) pairs repeat around the DST change: average them.
    select
        raw_weather.origin,
        raw_weather.time_hour,
        avg(raw_weather.temp) as temp,
        avg(raw_weather.dewp) as dewp,
        avg(raw_weather.humid) as humid,
        avg(raw_weather.wind_dir) as wind_dir,
        avg(raw_weather.wind_speed) as wind_speed,
        avg(raw_weather.wind_gust) as wind_gust,
        avg(raw_weather.precip) as precip,
        avg(raw_weather.pressure) as pressure,
        avg(raw_weather.visib) as visib
    from raw_weather
    group by raw_weather.origin, raw_weather.time_hour
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

at_prediction as (
    select
        flights.*,
        flights.sched_dep_utc - to_minutes($horizon_minutes) as predicted_at
    from flights
),

calendar as (
    select
        at_prediction.*,
        isodow(make_date(at_prediction.year, at_prediction.month, at_prediction.day))
            as day_of_week,
        dayofyear(make_date(at_prediction.year, at_prediction.month, at_prediction.day))
            as day_of_year,
        at_prediction.sched_dep_time // 100 as sched_dep_hour,
        (at_prediction.sched_dep_time // 100) * 60 + at_prediction.sched_dep_time % 100
            as sched_dep_minute_of_day,
        (at_prediction.sched_arr_time // 100) * 60 + at_prediction.sched_arr_time % 100
            as sched_arr_minute_of_day
    from at_prediction
),

with_weather as (
    -- The last observation at the origin at or before the prediction moment, never after.
    select
        calendar.*,
        weather.temp,
        weather.dewp,
        weather.humid,
        weather.wind_dir,
        weather.wind_speed,
        weather.wind_gust,
        weather.precip,
        weather.pressure,
        weather.visib,
        date_diff('minute', weather.time_hour, calendar.predicted_at) as weather_age_minutes
    from calendar
    asof left join weather
        on calendar.origin = weather.origin
        and calendar.predicted_at >= weather.time_hour
),

with_plane as (
    select
        with_weather.*,
        with_weather.year - planes.built_year as plane_age,
        planes.seats as plane_seats,
        planes.engines as plane_engines,
        planes.engine as plane_engine
    from with_weather
    left join planes on with_weather.tailnum = planes.tailnum
),

final as (
    select
        with_plane.flight_id,
        with_plane.year,
        with_plane.month,
        with_plane.day,
        with_plane.carrier,
        with_plane.flight,
        with_plane.tailnum,
        with_plane.origin,
        with_plane.dest,
        with_plane.sched_dep_time,
        with_plane.time_hour,
        with_plane.day_of_week,
        with_plane.day_of_year,
        with_plane.sched_dep_hour,
        with_plane.sched_dep_minute_of_day,
        with_plane.sched_arr_minute_of_day,
        with_plane.distance,
        with_plane.temp,
        with_plane.dewp,
        with_plane.humid,
        with_plane.wind_dir,
        with_plane.wind_speed,
        with_plane.wind_gust,
        with_plane.precip,
        with_plane.pressure,
        with_plane.visib,
        with_plane.weather_age_minutes,
        with_plane.plane_age,
        with_plane.plane_seats,
        with_plane.plane_engines,
        with_plane.plane_engine,
        with_plane.arr_delay
    from with_plane
    -- Cancelled or diverted flights have no arrival delay: counted by the rule, not trained on.
    where with_plane.arr_delay is not null
)

select * from final
order by flight_id
