-- Step 5: weather at the origin: the last hourly observation at or before the prediction
-- moment (never one after), its age, and the change since the last observation at or before
-- weather_change_minutes earlier. Rows are made for the flights in the block.
-- Variables: weather_change_minutes, block_from, block_to.

with

flights as (
    select
        flights_timed.flight_id,
        flights_timed.origin,
        flights_timed.predicted_at,
        flights_timed.predicted_at - to_minutes(getvariable('weather_change_minutes'))
            as earlier_at
    from flights_timed
    where flights_timed.in_block
),

first_needed as (
    -- per origin, the last observation at or before the block's earliest look-back: the
    -- oldest one any flight of the block can match
    select
        raw_weather.origin,
        max(raw_weather.time_hour) as time_hour
    from raw_weather
    where raw_weather.time_hour
        <= getvariable('block_from') - to_minutes(getvariable('weather_change_minutes'))
    group by raw_weather.origin
),

weather as (
    select
        raw_weather.origin,
        raw_weather.time_hour,
        raw_weather.temp,
        raw_weather.dewp,
        raw_weather.humid,
        raw_weather.wind_dir,
        raw_weather.wind_speed,
        raw_weather.wind_gust,
        raw_weather.precip,
        raw_weather.pressure,
        raw_weather.visib
    from raw_weather
    left join first_needed on raw_weather.origin = first_needed.origin
    where raw_weather.time_hour < getvariable('block_to')
        and (first_needed.time_hour is null or raw_weather.time_hour >= first_needed.time_hour)
),

latest as (
    select
        flights.flight_id,
        flights.earlier_at,
        flights.origin,
        weather.*
        exclude (origin),
        date_diff('minute', weather.time_hour, flights.predicted_at) as weather_age_minutes
    from flights
    asof left join weather
        on flights.origin = weather.origin
        and flights.predicted_at >= weather.time_hour
),

earlier as (
    select
        flights.flight_id,
        weather.visib as earlier_visib,
        weather.wind_speed as earlier_wind_speed
    from flights
    asof left join weather
        on flights.origin = weather.origin
        and flights.earlier_at >= weather.time_hour
),

final as (
    select
        latest.flight_id,
        latest.temp,
        latest.dewp,
        latest.humid,
        latest.wind_dir,
        latest.wind_speed,
        latest.wind_gust,
        latest.precip,
        latest.pressure,
        latest.visib,
        latest.weather_age_minutes,
        latest.visib - earlier.earlier_visib as visib_change,
        latest.wind_speed - earlier.earlier_wind_speed as wind_speed_change
    from latest
    inner join earlier on latest.flight_id = earlier.flight_id
)

select * from final
