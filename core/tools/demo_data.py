"""The sample catalog behind ``core.tools.demo``: categories, brand lines with pack sizes and prices, vendors, cities
and shop names of Indian corner stores. Data only; ``core.tools.demo`` turns it into reference tables.
"""

# code | name | popularity weight | perishable (0/1)
CATEGORIES = """
STP|Atta, Rice & Dal|1.3|0
SSJ|Salt, Sugar & Jaggery|1.0|0
OIL|Oil & Ghee|1.0|0
MSL|Masala & Spices|0.8|0
TEA|Tea, Coffee & Health Drinks|1.0|0
BIS|Biscuits & Rusks|1.5|0
SNK|Snacks & Namkeen|1.4|1
INS|Noodles & Instant Food|1.2|0
BRK|Breakfast & Spreads|0.7|0
DRY|Dairy & Bakery|1.8|1
BEV|Cold Drinks & Juices|1.2|0
CHO|Chocolates & Sweets|1.0|1
PER|Personal Care|0.8|0
HOM|Household & Cleaning|0.8|0
POO|Pooja Needs|0.5|0
"""

# category | multipacks (y/n) | sizes "label:price in rupees" | brand lines ";" | variants ";" (optional)
CATALOG = """
STP|n|1 kg:62,2 kg:120,5 kg:285,10 kg:545|Aashirvaad Whole Wheat Atta;Pillsbury Chakki Fresh Atta;Fortune Chakki Fresh Atta;Annapurna Farm Fresh Atta;Patanjali Chakki Atta;Rajdhani Chakki Atta;Shakti Bhog Atta;Nature Fresh Sampoorna Atta;Silver Coin Chakki Atta;Ashirwad Select Sharbati Atta|
STP|n|1 kg:98,5 kg:460|India Gate Basmati Rice;Daawat Rozana Basmati Rice;Fortune Biryani Special Basmati Rice;Kohinoor Basmati Rice;Lal Qilla Basmati Rice;Tilda Basmati Rice|Classic;Super;Everyday;Dubar
STP|n|1 kg:60,5 kg:280,10 kg:545,25 kg:1320|Fortune Sona Masoori Rice;Daawat Sona Masoori Rice;India Gate Sona Masoori Rice;24 Mantra Organic Sona Masoori Rice;Lalithaa Sona Masoori Rice;Bell Ponni Boiled Rice|
STP|n|500 g:85,1 kg:165,2 kg:320|Tata Sampann Toor Dal;Tata Sampann Moong Dal;Tata Sampann Chana Dal;Fortune Masoor Dal;Rajdhani Urad Dal;24 Mantra Organic Toor Dal;Rajdhani Kabuli Chana;Tata Sampann Rajma;Rajdhani Moong Dal;Fortune Toor Dal;Pro Nature Organic Moong Dal;Tata Sampann Urad Dal|
STP|n|500 g:45,1 kg:88|Rajdhani Besan;Tata Sampann Besan;Fortune Besan;Aashirvaad Besan;Shakti Bhog Besan|
STP|n|500 g:32,1 kg:60|Rajdhani Sooji;Aashirvaad Rava;Fortune Sooji;Pillsbury Sooji;Double Horse Bombay Rava|
STP|n|500 g:38,1 kg:72|Rajdhani Poha;Tata Sampann Poha;Fortune Poha;Double Horse Poha|Thick;Thin
STP|n|500 g:40,1 kg:75|Rajdhani Maida;Pillsbury Maida;Fortune Maida;Rajdhani Ragi Flour;24 Mantra Organic Jowar Flour;Aashirvaad Multigrain Flour|
SSJ|n|500 g:15,1 kg:28|Tata Salt;Aashirvaad Salt;Annapurna Salt;Catch Salt;Nirma Shudh Salt;Saffola Salt|Iodised;Lite;Rock;Crystal
SSJ|n|1 kg:52,2 kg:100,5 kg:245|Madhur Pure Sugar;Dhampure Sugar;Uttam Sugar;Trust Classic Sugar;Parry's Sugar|Refined;Sulphurless
SSJ|n|500 g:60,1 kg:110|Dhampure Jaggery Powder;24 Mantra Organic Jaggery;Patanjali Jaggery;Tata Sampann Jaggery;Natureland Organic Jaggery|Powder;Cubes
OIL|n|1 L:165,2 L:325,5 L:790|Fortune Sunlite Refined Sunflower Oil;Saffola Gold Edible Oil;Dhara Refined Groundnut Oil;Gemini Refined Sunflower Oil;Freedom Refined Sunflower Oil;Sundrop Heart Oil;Gold Winner Sunflower Oil;Fortune Soya Health Oil;Nature Fresh Acti Lite Oil;Emami Healthy & Tasty Oil|Pouch;Bottle;Jar
OIL|n|500 ml:95,1 L:185,5 L:895|Fortune Kachi Ghani Mustard Oil;Patanjali Kachi Ghani Mustard Oil;Engine Kachi Ghani Mustard Oil;Dhara Kachi Ghani Mustard Oil;P Mark Mustard Oil|Bottle;Pouch
OIL|n|200 ml:130,500 ml:310,1 L:610|Amul Pure Ghee;Gowardhan Pure Cow Ghee;Patanjali Cow Ghee;Nandini Pure Ghee;Aashirvaad Svasti Pure Cow Ghee;Milkfood Rich Desi Ghee;Mother Dairy Cow Ghee|Jar;Pouch;Tin
OIL|n|200 ml:45,500 ml:105,1 L:199|Parachute Coconut Oil;KLF Nirmal Coconut Oil;Fortune Rice Bran Health Oil;VVD Gold Coconut Oil;Idhayam Gingelly Oil;Anjali Sesame Oil|
MSL|y|50 g:35,100 g:68,200 g:130|Everest Garam Masala;Ramdev Garam Masala;Suhana Garam Masala;MDH Garam Masala;Catch Garam Masala;Badshah Garam Masala;Aachi Garam Masala;Eastern Garam Masala;Sakthi Garam Masala|
MSL|y|100 g:38,200 g:72,500 g:170|Everest Turmeric Powder;MDH Haldi Powder;Catch Turmeric Powder;Tata Sampann Turmeric Powder;Aachi Turmeric Powder;Sakthi Turmeric Powder|
MSL|y|100 g:45,200 g:85,500 g:205|Everest Kashmirilal Chilli Powder;MDH Deggi Mirch;Catch Red Chilli Powder;Tata Sampann Chilli Powder;Aachi Chilli Powder;Eastern Kashmiri Chilli Powder|
MSL|y|50 g:40,100 g:75|Everest Chhole Masala;Everest Pav Bhaji Masala;MDH Chunky Chaat Masala;MDH Kitchen King Masala;Everest Sambhar Masala;MTR Rasam Powder;Aachi Chicken Masala;Everest Meat Masala;Badshah Chole Masala;Catch Kitchen King Masala;MDH Rajmah Masala;Everest Biryani Masala;Shan Biryani Masala;MTR Puliogare Powder;Everest Jaljira Powder;MDH Shahi Paneer Masala|
MSL|y|100 g:50,200 g:95|Everest Coriander Powder;Catch Dhania Powder;MDH Jeera Powder;Tata Sampann Cumin Seeds;Catch Black Pepper Powder;Everest Hing Powder;Tata Sampann Mustard Seeds;Catch Ajwain|
TEA|y|250 g:140,500 g:270,1 kg:520|Tata Tea Premium;Brooke Bond Red Label Tea;Taj Mahal Tea;Tata Tea Gold;Wagh Bakri Premium Tea;Tata Tea Agni;Society Leaf Tea;Girnar Royal Cup Tea;Tata Tea Chakra Gold;Brooke Bond 3 Roses;Tata Tea Kanan Devan|
TEA|y|25 bags:110,100 bags:380|Lipton Green Tea;Tetley Green Tea;Organic India Tulsi Green Tea;Girnar Green Tea;Twinings Green Tea|Honey Lemon;Classic;Mint;Ginger
TEA|y|50 g:160,100 g:310,200 g:600|Nescafe Classic Instant Coffee;Bru Instant Coffee;Nescafe Sunrise Coffee;Continental Xtra Coffee;Davidoff Rich Aroma Coffee|Jar;Pouch
TEA|y|200 g:160,500 g:380|Bru Green Label Filter Coffee;Narasu's Filter Coffee;Cothas Coffee Powder;Leo Coffee Filter Powder;Sunrise Filter Coffee|
TEA|y|200 g:120,500 g:265,1 kg:520|Bournvita Health Drink;Horlicks Health Drink;Boost Health Drink;Complan Nutrition Drink;Pediasure Health Drink;Protinex Health Drink;Milo Health Drink|Classic Malt;Chocolate;Elaichi
BIS|y|100 g:10,250 g:25,800 g:80|Parle-G Glucose Biscuits;Cremica Glucose Biscuits;Bisk Farm Glucose Biscuits;Britannia Tiger Glucose Biscuits;Sunfeast Glucose Biscuits;Priyagold Butter Bite;Anmol Glucose Biscuits;Parle-G Gold Biscuits|
BIS|y|75 g:20,150 g:40,300 g:80|Britannia Good Day Cookies;Bisk Farm Googly;Cremica Elaichi Cookies;Parle Bourbon;Sunfeast Marie Light;Britannia Treat Croissant;Priyagold Cheese Cracker;Britannia Little Hearts;Parle Magix Cream Biscuits;Sunfeast Dark Fantasy Choco Fills;Parle Hide & Seek;Britannia Bourbon;Parle Monaco;Britannia Marie Gold;Sunfeast Mom's Magic;Britannia NutriChoice Digestive;Parle Krackjack;Britannia 50-50;McVitie's Digestive;Unibic Choco Chip Cookies;Parle 20-20 Cookies;Sunfeast Farmlite;Britannia Milk Bikis;Parle Milano;Britannia Jim Jam;Sunfeast Bounce;Parle Fab;Britannia Pure Magic|
BIS|y|75 g:20,150 g:40|Britannia Good Day;Sunfeast Dream Cream;Parle Happy Happy|Cashew;Butter;Choco Chip;Pista Badam
BIS|y|200 g:35,400 g:65|Britannia Toastea Rusk;Parle Rusk;Bonn Milk Rusk;Sunfeast Premium Rusk;Britannia Suji Toast|Elaichi;Milk;Suji
SNK|y|52 g:20,90 g:30,150 g:50|Lay's Potato Chips;Uncle Chipps;Bingo Original Style Chips;Balaji Wafers;Pringles Potato Crisps;Haldiram's Potato Chips|Classic Salted;Magic Masala;Cream & Onion;Chilli Lemon;Tomato;Peri Peri
SNK|y|40 g:10,90 g:20,200 g:50|Kurkure Masala Munch;Bingo Hashtags;Haldiram's Takatak;Balaji Crunchex;Lay's Stax;Kurkure Puffcorn;Kurkure Solid Masti;Bingo Mad Angles Achaari Masti;Bingo Tedhe Medhe;Doritos Nacho Cheese;Too Yumm Multigrain Chips;Kurkure Chilli Chatka;Bingo Mad Angles Tomato Madness;Parle Namkeen Wafers;Yellow Diamond Rings|
SNK|y|200 g:55,400 g:105,1 kg:250|Haldiram's Aloo Bhujia;Bikaji Aloo Bhujia;Chitale Bakarwadi;Haldiram's Mixture;Bikano Moong Dal;Haldiram's Moong Dal;Haldiram's Khatta Meetha;Bikaji Bikaneri Bhujia;Bikano Navratan Mix;Haldiram's Navrattan;Balaji Ratlami Sev;Haldiram's All in One;Bikaji Dal Moth;Haldiram's Panchratan;Bikano Bhujia Sev;Haldiram's Nut Cracker;Bikaji Chatpata Matar;Haldiram's Salted Peanuts|
SNK|y|70 g:30,150 g:55|Act II Instant Popcorn;Cornitos Nachos;Tasties Makhana|Classic Salted;Butter;Tomato Chatpata;Cheese
INS|y|70 g:14,280 g:56,560 g:108|Maggi 2-Minute Noodles;Sunfeast Yippee Power Up Noodles;Patanjali Atta Noodles;Yippee Noodles;Knorr Soupy Noodles;Ching's Secret Instant Noodles;Top Ramen Noodles;Wai Wai Noodles;Maggi Atta Noodles|Masala;Atta;Curry;Chicken;Veg
INS|y|400 g:80,1 kg:190|Bambino Macaroni;Sunfeast Pasta Treat;Del Monte Penne Pasta;Borges Fusilli Pasta;Bambino Vermicelli;MTR Vermicelli|
INS|y|4 servings:55|Knorr Classic Soup;Ching's Secret Instant Soup;Maggi Healthy Soup|Tomato;Sweet Corn;Hot & Sour;Manchow;Mixed Veg
INS|y|300 g:99|MTR Ready to Eat;Haldiram's Minute Khana;Gits Ready Meals;ITC Kitchens of India|Dal Makhani;Rajma Masala;Pav Bhaji;Paneer Butter Masala;Palak Paneer;Chana Masala;Veg Pulao
INS|y|200 g:75,500 g:180|MTR Rava Idli Mix;Gits Gulab Jamun Mix;MTR Dosa Mix;Gits Dhokla Mix;Aashirvaad Instant Upma Mix;MTR Badam Drink Mix;Gits Rava Dosa Mix;MTR Vada Mix|
BRK|n|250 g:110,475 g:190,1 kg:380|Kellogg's Corn Flakes;Kellogg's Chocos;Saffola Oats;Quaker Oats;Bagrry's White Oats;Kellogg's Muesli;Kellogg's Oats;True Elements Muesli|
BRK|n|200 g:85,500 g:180,1 kg:340|Kissan Mixed Fruit Jam;Kissan Fresh Tomato Ketchup;Maggi Rich Tomato Ketchup;Del Monte Tomato Ketchup;FunFoods Veg Mayonnaise;Veeba Eggless Mayonnaise;Maggi Hot & Sweet Sauce;Ching's Secret Schezwan Chutney;Kissan Pineapple Jam|
BRK|n|250 g:150,500 g:280,1 kg:520|Dabur Honey;Saffola Honey;Patanjali Honey;Apis Himalaya Honey;Zandu Pure Honey|
BRK|n|340 g:140,1 kg:360|Sundrop Peanut Butter;Pintola Peanut Butter;MyFitness Peanut Butter;Alpino Peanut Butter|Creamy;Crunchy;Chocolate
BRK|n|200 g:55,500 g:130|Mother's Recipe Mango Pickle;Priya Lime Pickle;Nilon's Mixed Pickle;Patanjali Mango Pickle;Aachi Garlic Pickle|
DRY|n|500 ml:27,1 L:54|Amul Taaza Toned Milk;Nandini Toned Milk;Mother Dairy Toned Milk;Aavin Toned Milk;Heritage Toned Milk;Amul Gold Full Cream Milk;Nandini Shubham Milk;Gokul Full Cream Milk;Hatsun Arokya Milk;Milky Mist Double Toned Milk|
DRY|n|100 g:58,500 g:275|Amul Butter;Nandini Butter;Mother Dairy Butter;Britannia Butter|Salted;Unsalted
DRY|y|200 g:35,400 g:65,1 kg:150|Amul Masti Dahi;Mother Dairy Classic Curd;Nestle a+ Dahi;Nandini Curd;Milky Mist Curd;Heritage Curd|
DRY|n|200 g:90,500 g:210|Amul Fresh Paneer;Mother Dairy Paneer;Milky Mist Paneer;Gowardhan Paneer|
DRY|n|200 g:125,400 g:240|Amul Cheese Slices;Britannia Cheese Cubes;Go Cheese Slices;Amul Processed Cheese|
DRY|n|400 g:40,800 g:60|Britannia Bread;Modern Bread;Harvest Gold Bread;English Oven Bread;Nilgiris Bread|White Sandwich;Brown;Milk;Whole Wheat;Multigrain
DRY|y|60 g:15,250 g:80|Britannia Fruit Cake;Britannia Chocolate Cake;Winkies Swiss Roll;Elite Plum Cake|
DRY|n|6 pcs:42,12 pcs:84,30 pcs:200|Farm Fresh Eggs;Suguna Eggs;Eggoz Brown Eggs|
BEV|y|250 ml:20,750 ml:40,2.25 L:99|Coca-Cola;Pepsi Black;Sprite Zero;Thums Up Charged;Fanta Apple Delite;Thums Up;Sprite;Pepsi;Limca;Fanta;Mountain Dew;7Up;Mirinda;Bovonto;Campa Cola;Kinley Soda|
BEV|y|200 ml:20,1 L:110|Real Fruit Power Juice;Tropicana Juice;Paper Boat Juice;B Natural Juice;Del Monte Juice|Mixed Fruit;Orange;Guava;Mango;Apple;Litchi
BEV|y|160 ml:15,600 ml:40,1.2 L:70|Frooti Mango Drink;Maaza Refresh;Real Activ Coconut Water;Maaza Mango Drink;Slice Mango Drink;Appy Fizz|
BEV|y|500 ml:10,1 L:20,2 L:32,5 L:70|Bisleri Mineral Water;Kinley Drinking Water;Aquafina Drinking Water;Bailley Packaged Water;Himalayan Natural Mineral Water|
BEV|y|180 ml:25,1 L:110|Amul Kool Koko;Amul Kool Kesar;Amul Masti Buttermilk;Nandini Lassi;Amul Kool Badam;Mother Dairy Chach|
BEV|y|250 ml:20,500 ml:40|Sting Energy Drink;Rasna Fruit Plus;Tang Instant Drink;Glucon-D Energy Drink|Orange;Lemon;Mango;Nimbu Pani
CHO|y|13 g:10,40 g:40,140 g:160|Cadbury Dairy Milk;Cadbury Temptations;Nestle Bar One;Cadbury Crackle;Amul Milk Chocolate;Cadbury Dairy Milk Silk;Nestle KitKat;Cadbury 5 Star;Cadbury Perk;Nestle Munch;Amul Dark Chocolate;Cadbury Fuse;Snickers;Cadbury Gems;Nestle Milkybar;Cadbury Bournville|
CHO|y|195 g:50,391 g:99|Parle Melody Toffee;Parle Orange Candy;Mentos Mint;Happydent White Gum;Alpenliebe Caramel;Cadbury Eclairs;Pulse Kachcha Aam Candy;Alpenliebe Lollipop;Parle Mango Bite;Center Fruit Chewing Gum;Parle Kismi Toffee;Ravalgaon Mango Mood;Poppins Fruit Candy|
CHO|y|250 g:110,500 g:210,1 kg:400|Haldiram's Soan Papdi;Bikano Rasgulla;Haldiram's Gulab Jamun;Bikaji Soan Cake;Haldiram's Kaju Katli;Bikano Petha|
PER|y|75 g:36,100 g:48,125 g:58|Lux Soap;Rexona Soap;Liril Lemon Soap;Park Avenue Soap;Patanjali Neem Kanti Soap;Lifebuoy Soap;Dettol Soap;Santoor Soap;Cinthol Soap;Medimix Ayurvedic Soap;Mysore Sandal Soap;Pears Soap;Dove Cream Beauty Bar;Hamam Soap;Godrej No.1 Soap;Margo Neem Soap;Vivel Soap|
PER|y|80 ml:75,180 ml:160,340 ml:290,650 ml:520|Clinic Plus Shampoo;Head & Shoulders Shampoo;Pantene Shampoo;Sunsilk Shampoo;Dove Shampoo;Himalaya Shampoo;TRESemme Shampoo;Meera Shampoo|Anti-Dandruff;Smooth & Silky;Daily Care;Strong & Long
PER|y|100 g:55,150 g:95,300 g:180|Colgate Strong Teeth Toothpaste;Vicco Vajradanti Toothpaste;Babool Toothpaste;Pepsodent Germicheck Toothpaste;Close-Up Red Hot Gel;Dabur Red Paste;Sensodyne Toothpaste;Colgate MaxFresh Toothpaste;Patanjali Dant Kanti;Meswak Toothpaste;Himalaya Complete Care Toothpaste|
PER|y|1 pc:40,4 pcs:120|Colgate ZigZag Toothbrush;Oral-B Pro-Health Toothbrush;Pepsodent Toothbrush;Colgate Slim Soft Toothbrush|Soft;Medium
PER|y|100 ml:65,200 ml:125,500 ml:280|Parachute Advansed Coconut Hair Oil;Dabur Amla Hair Oil;Bajaj Almond Drops Hair Oil;Navratna Cool Oil;Clinic Plus Hair Oil;Indulekha Bhringa Hair Oil;Keo Karpin Hair Oil|
PER|y|50 g:70,100 g:130|Boroplus Antiseptic Cream;Nivea Soft Cream;Vaseline Petroleum Jelly;Himalaya Neem Face Wash;Pond's Face Wash;Glow & Lovely Cream;Ponds Cold Cream;Garnier Men Face Wash|
PER|y|7 pads:40,15 pads:90,30 pads:170|Whisper Choice Pads;Stayfree Secure Pads;Sofy Antibacteria Pads;Whisper Ultra Pads|Regular;XL
PER|y|1 pc:25,5 pcs:110|Gillette Guard Razor;Gillette Presto Razor;Laser Shaving Blades;7 O'Clock Blades|
PER|y|50 g:55,100 g:95|Pond's Dreamflower Talc;Nycil Prickly Heat Powder;Cinthol Talc;Yardley Talc|
HOM|y|500 g:60,1 kg:115,4 kg:420|Surf Excel Easy Wash Detergent Powder;Tide Plus Detergent Powder;Rin Detergent Powder;Wheel Active Detergent Powder;Ariel Complete Detergent Powder;Ghadi Detergent Powder;Nirma Washing Powder;Henko Detergent Powder;Fena Detergent Powder|
HOM|y|150 g:10,300 g:30|Rin Detergent Bar;Ghadi Detergent Bar;Tide Detergent Bar;Wheel Detergent Bar;Surf Excel Detergent Bar;Vim Dishwash Bar;Exo Dishwash Bar;Pril Dishwash Bar;Sunlight Detergent Bar;Nirma Detergent Bar|
HOM|y|250 ml:55,500 ml:105,1 L:199|Vim Dishwash Liquid;Pril Dishwash Liquid;Exo Dishwash Liquid;Surf Excel Matic Liquid;Comfort Fabric Conditioner;Ujala Supreme Liquid Whitener|
HOM|y|500 ml:99,1 L:185,2 L:355|Lizol Floor Cleaner;Harpic Toilet Cleaner;Domex Toilet Cleaner;Colin Glass Cleaner;Dettol Disinfectant Liquid|Original;Citrus;Floral;Pine
HOM|y|1 refill:85,2 refills:160|Good Knight Gold Flash Refill;All Out Ultra Refill;Mortein Insta5 Refill;Maxo Genius Refill|
HOM|y|30 pcs:99,60 pcs:185|Ezee Garbage Bags;Shalimar Garbage Bags;Presto Garbage Bags|Small;Medium;Large
HOM|y|1 pc:35,3 pcs:95|Scotch-Brite Scrub Pad;Gala Spin Mop Refill;Prestige Clean Home Sponge Wipe|
HOM|y|4 rolls:150,10 rolls:340|Origami Toilet Roll;Premier Kitchen Towel;Selpak Tissue Roll|
POO|y|20 sticks:30,100 g:55,250 g:120|Cycle Pure Agarbatti;Mangaldeep Agarbatti;Zed Black Agarbatti;Hari Darshan Agarbatti;Moksh Agarbatti|Sandal;Rose;Lavender;Jasmine;Mogra
POO|y|25 g:45,50 g:85|Mangaldeep Camphor;Cycle Camphor;Patanjali Camphor;Hari Darshan Camphor|
POO|y|10 boxes:10,40 boxes:40|Ship Safety Matches;Homelites Matches;Swastik Matches|
POO|y|100 pcs:20,200 pcs:35|Ganesh Cotton Wicks;Mangaldeep Diya Batti;Cycle Dhoop Cones;Hari Darshan Sambrani Cups|
"""

PACKS = (1, 2, 3, 4, 6, 10, 12, 24)
MULTIPACK_MAX = 1000  # rupees: no "(Pack of 24)" of anything dear

CITIES = (  # city code | localities
    "BLR|Jayanagar;Indiranagar;Malleshwaram;Koramangala;Basavanagudi;Whitefield;HSR Layout;Rajajinagar",
    "MUM|Dadar;Andheri West;Borivali;Chembur;Ghatkopar;Bandra;Mulund;Vile Parle",
    "DEL|Lajpat Nagar;Karol Bagh;Rohini;Janakpuri;Mayur Vihar;Dwarka;Saket;Pitampura",
    "CHE|T. Nagar;Mylapore;Adyar;Anna Nagar;Velachery;Tambaram;Porur;Perambur",
    "HYD|Ameerpet;Kukatpally;Dilsukhnagar;Begumpet;Madhapur;Secunderabad;Mehdipatnam;Kondapur",
    "PUN|Kothrud;Aundh;Hadapsar;Shivajinagar;Baner;Wakad;Camp;Kharadi",
    "KOL|Salt Lake;Behala;Gariahat;Dum Dum;Howrah;Ballygunge;New Town;Tollygunge",
    "AMD|Navrangpura;Maninagar;Satellite;Bopal;Vastrapur;Naroda;Chandkheda;Paldi",
    "JAI|Malviya Nagar;Vaishali Nagar;Mansarovar;C-Scheme;Raja Park;Jhotwara;Sanganer;Tonk Road",
    "LKO|Hazratganj;Gomti Nagar;Aliganj;Indira Nagar;Aminabad;Alambagh;Mahanagar;Chowk",
    "COK|Kakkanad;Edappally;Vyttila;Fort Kochi;Palarivattom;Kaloor;Thrippunithura;Aluva",
    "IDR|Vijay Nagar;Palasia;Rajwada;Bhawarkua;Sudama Nagar;Annapurna;Rau;Nipania",
)
VENDORS = tuple(
    """
Shree Ganesh Traders
Balaji Wholesale Distributors
Agarwal Agencies
Patel Brothers Trading Co.
Krishna Enterprises
Sai FMCG Distributors
Gupta & Sons Wholesale
Jain Provision Suppliers
Lakshmi Agencies
Mahalaxmi Traders
New India Distributors
Om Sai Enterprises
Raj Trading Company
Sharma Distributors
Sri Venkateswara Agencies
Bharat Consumer Distributors
Annapurna Food Distributors
Vinayak Marketing
Kaveri Sales Corporation
Maruti Traders
Vijay Wholesale Mart
Deccan FMCG Agencies
Ganga Distributors
Royal Agencies
Siddhi Vinayak Traders
Mehta Brothers
Hindustan Trade Links
Sunrise Distributors
Shiv Shakti Enterprises
Modern Provision Agencies
Tirupati Traders
""".strip().splitlines()
)
SHOPS = tuple(
    """
Sri Lakshmi Stores
Balaji Kirana
Annapurna Provisions
New Ganesh General Store
Sai Ram Supermart
Krishna Departmental Store
Mahalakshmi Kirana
Om Provision Store
Shiv Shakti Stores
Jai Hind Kirana
Durga General Stores
Apna Bazaar
Gupta Kirana Bhandar
Nandi Provisions
Vinayaka Super Market
Swastik Stores
Sagar Kirana
Anand Provision Store
Royal Mart
Daily Needs Store
Family Kirana
Sri Venkateshwara Stores
Janata Stores
Bharat Provision Store
Kamdhenu Kirana
""".strip().splitlines()
)
