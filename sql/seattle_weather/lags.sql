-- Step 2: the measurements of the days before: yesterday's, and the day before's maximum.
-- Days are found by date, not by row position, so a day missing from the file gives nulls
-- rather than an older day's values. Only past days are read.

with

days as (
    select
        raw_days.day_id,
        raw_days.date,
        raw_days.precipitation,
        raw_days.temp_max,
        raw_days.temp_min,
        raw_days.wind,
        raw_days.weather
    from raw_days
),

final as (
    select
        days.day_id,
        yesterday.temp_max as temp_max_lag1,
        two_days_before.temp_max as temp_max_lag2,
        yesterday.temp_min as temp_min_lag1,
        yesterday.precipitation as precipitation_lag1,
        yesterday.wind as wind_lag1,
        yesterday.weather as weather_lag1
    from days
    left join days as yesterday on yesterday.date = days.date - 1
    left join days as two_days_before on two_days_before.date = days.date - 2
)

select * from final
