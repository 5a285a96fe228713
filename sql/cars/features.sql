-- Step 1: the feature table, one row per car model in car_id order: its engine, body and
-- performance, its model year, and its maker (the first word of its name, misspellings and
-- short forms of the file mended) beside the two targets.

with

cars as (
    select
        raw_cars.car_id,
        raw_cars.Name as name,
        raw_cars.Miles_per_Gallon as mpg,
        raw_cars.Cylinders as cylinders,
        raw_cars.Displacement as displacement,
        raw_cars.Horsepower as horsepower,
        raw_cars.Weight_in_lbs as weight,
        raw_cars.Acceleration as acceleration,
        raw_cars.Year as model_date,
        raw_cars.Origin as origin
    from raw_cars
),

makers as (
    select
        cars.car_id,
        split_part(lower(trim(cars.name)), ' ', 1) as written
    from cars
),

final as (
    select
        cars.car_id,
        cars.name,
        case makers.written
            when 'chevy' then 'chevrolet'
            when 'chevroelt' then 'chevrolet'
            when 'maxda' then 'mazda'
            when 'mercedes-benz' then 'mercedes'
            when 'toyouta' then 'toyota'
            when 'vokswagen' then 'volkswagen'
            when 'vw' then 'volkswagen'
            else makers.written
        end as make,
        cars.mpg,
        cars.origin,
        cast(cars.cylinders as double) as cylinders,
        cars.displacement,
        cars.horsepower,
        cars.weight,
        cars.acceleration,
        cars.horsepower / cars.weight * 1000 as power_to_weight,
        cast(year(cars.model_date) as integer) as model_year
    from cars
    inner join makers on cars.car_id = makers.car_id
    order by cars.car_id
)

select * from final
