-- Step 5: the feature table, one row per day in day_id order: the day's own measurements (known
-- at its end, when the prediction is made), the earlier days', the rolling means and the
-- calendar, beside the next day's targets.

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

calendar as (
    select
        calendar.day_id,
        calendar.month,
        calendar.day_of_year,
        calendar.day_of_year_sin,
        calendar.day_of_year_cos
    from calendar
),

lags as (
    select
        lags.day_id,
        lags.temp_max_lag1,
        lags.temp_max_lag2,
        lags.temp_min_lag1,
        lags.precipitation_lag1,
        lags.wind_lag1,
        lags.weather_lag1
    from lags
),

rolling as (
    select
        rolling.day_id,
        rolling.temp_max_mean_short,
        rolling.temp_max_mean_medium,
        rolling.temp_max_mean_long,
        rolling.temp_min_mean_short,
        rolling.temp_min_mean_medium,
        rolling.temp_min_mean_long,
        rolling.precipitation_mean_short,
        rolling.precipitation_mean_medium,
        rolling.precipitation_mean_long,
        rolling.wind_mean_short,
        rolling.wind_mean_medium,
        rolling.wind_mean_long
    from rolling
),

next_day as (
    select
        next_day.day_id,
        next_day.temp_max_next_day,
        next_day.weather_next_day
    from next_day
),

final as (
    select
        days.day_id,
        days.date,
        days.temp_max,
        days.temp_min,
        days.temp_max - days.temp_min as temp_range,
        days.precipitation,
        days.wind,
        days.weather,
        lags.temp_max_lag1,
        lags.temp_max_lag2,
        days.temp_max - lags.temp_max_lag1 as temp_max_change,
        lags.temp_min_lag1,
        lags.precipitation_lag1,
        lags.wind_lag1,
        lags.weather_lag1,
        rolling.temp_max_mean_short,
        rolling.temp_max_mean_medium,
        rolling.temp_max_mean_long,
        rolling.temp_min_mean_short,
        rolling.temp_min_mean_medium,
        rolling.temp_min_mean_long,
        rolling.precipitation_mean_short,
        rolling.precipitation_mean_medium,
        rolling.precipitation_mean_long,
        rolling.wind_mean_short,
        rolling.wind_mean_medium,
        rolling.wind_mean_long,
        calendar.month,
        calendar.day_of_year,
        calendar.day_of_year_sin,
        calendar.day_of_year_cos,
        next_day.temp_max_next_day,
        next_day.weather_next_day
    from days
    inner join calendar on days.day_id = calendar.day_id
    inner join lags on days.day_id = lags.day_id
    inner join rolling on days.day_id = rolling.day_id
    inner join next_day on days.day_id = next_day.day_id
    order by days.day_id
)

select * from final
