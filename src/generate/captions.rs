#![allow(missing_docs)]
//! Captions and transcripts that test a disclosure checker for real: six
//! languages, labels up front, behind the fold, in trailing hashtags, on the
//! third line or only in a video's description, spoken early or late,
//! labels regulators reject, stylised Unicode and zero-width characters,
//! lookalike words and hashtags (#adventure, #adidas, Adelaide, the Italian
//! "ad"), pasted links (own, another creator's, untracked) and codes (own,
//! another creator's, retired). The planted class and flags go to `_truth`.
//!
//! Drawn from its own RNG after the posts are final, so the traffic the
//! rest of the world causes is the same as without it.

use chrono::{DateTime, Duration, Utc};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::world::{BRAND, Campaign, Creator, Disclosure, Post};

/// A creator's code that expired before the data starts.
#[derive(Debug, Clone)]
pub struct RetiredCode {
    pub creator: usize,
    pub code: String,
    pub valid_from: DateTime<Utc>,
    pub valid_to: DateTime<Utc>,
}

/// The host of the brand's short links.
pub const SHORT_HOST: &str = "lmra.link";

/// The short URL of a link id.
pub fn short_url(link_id: &str) -> String {
    format!("https://{SHORT_HOST}/{}", link_id.trim_start_matches("lk_"))
}

struct Words {
    hooks: &'static [&'static str],
    details: &'static [&'static str],
    code: &'static str,
    link: &'static str,
    tags: &'static [&'static str],
    lifestyle: &'static [&'static str],
    ambiguous: &'static [&'static str],
    spoken_clear: &'static str,
    spoken_ambiguous: &'static str,
    talk: &'static [&'static str],
    lookalikes: &'static [&'static str],
}

const EN: Words = Words {
    hooks: &[
        "obsessed with this glow serum from {b}",
        "my honest routine update with {b}",
        "5 minute morning skin with {b}",
        "what I use every day: {b} vitamin C",
        "the {b} serum everyone asks about",
    ],
    details: &[
        "I have been using it every morning for three weeks now and my skin feels calmer.",
        "It layers well under sunscreen and never pills, which matters to me.",
        "The texture is light, it absorbs fast and there is no scent at all.",
        "I tried it on my sensitive cheeks first and had no redness.",
    ],
    code: "Use code {c} for 15% off.",
    link: "Link in bio.",
    tags: &[
        "#skincare",
        "#glowup",
        "#routine",
        "#selfcare",
        "#beauty",
        "#skintok",
        "#morningroutine",
        "#fyp",
        "#viral",
    ],
    lifestyle: &[
        "sunday reset and a long walk by the water",
        "new apartment tour, finally unpacked",
        "weekend hike with the best people",
        "trying a new pasta recipe tonight",
    ],
    ambiguous: &[
        "#sp",
        "#collab",
        "thanks to @{b}",
        "#partner",
        "#ambassador",
        "#gifted",
        "#spon",
    ],
    spoken_clear: "This video is sponsored by {B}.",
    spoken_ambiguous: "Big thanks to {B} for this one.",
    talk: &[
        "Today I am showing you my whole morning routine, step by step.",
        "First I cleanse, then I go in with the serum while my skin is still damp.",
        "Let me know in the comments what you want to see next.",
    ],
    lookalikes: &[
        "#adventure",
        "#adidas",
        "Adelaide",
        "#adorable",
        "#adulting",
        "#advent",
        "#spf",
        "#spa",
        "#collagen",
        "#prep",
        "#𝐚𝐝𝐯𝐞𝐧𝐭𝐮𝐫𝐞",
        "#AdventCalendar",
        "#ADHDawareness",
    ],
};

const DE: Words = Words {
    hooks: &[
        "mein neues Lieblingsserum von {b} für jeden Morgen",
        "ehrliches Update zu meiner Routine mit {b}",
        "fünf Minuten Morgenpflege mit {b}",
        "das {b} Serum, nach dem alle fragen",
    ],
    details: &[
        "Ich benutze es jetzt seit drei Wochen jeden Morgen und meine Haut ist viel ruhiger.",
        "Es lässt sich gut unter Sonnencreme tragen und zieht schnell ein.",
        "Die Textur ist leicht und es riecht nach gar nichts, was ich sehr mag.",
    ],
    code: "Mit dem Code {c} gibt es 15 % Rabatt.",
    link: "Link in der Bio.",
    tags: &[
        "#hautpflege",
        "#skincare",
        "#routine",
        "#beauty",
        "#pflege",
        "#morgenroutine",
    ],
    lifestyle: &[
        "Sonntag, Spaziergang am See und endlich Ruhe",
        "neue Wohnung, endlich alles ausgepackt",
    ],
    ambiguous: &["#kooperation", "Danke an @{b}", "#sp", "#collab"],
    spoken_clear: "Werbung: dieses Video ist in Zusammenarbeit mit {B} entstanden.",
    spoken_ambiguous: "Danke an {B} für die Unterstützung.",
    talk: &[
        "Heute zeige ich euch meine ganze Morgenroutine, Schritt für Schritt.",
        "Zuerst reinige ich, dann kommt das Serum auf die noch feuchte Haut.",
    ],
    lookalikes: &[
        "Werbungskosten",
        "#anzeigenhauptmann",
        "#adventure",
        "#adidas",
    ],
};

const FR: Words = Words {
    hooks: &[
        "ma nouvelle routine du matin avec le sérum {b}",
        "mon avis honnête sur {b} après trois semaines",
        "cinq minutes de soin le matin avec {b}",
    ],
    details: &[
        "Je l'utilise tous les matins depuis trois semaines et ma peau est beaucoup plus calme.",
        "Il passe très bien sous la crème solaire et pénètre vite.",
        "La texture est légère et il n'a aucun parfum, ce que j'adore.",
    ],
    code: "Avec le code {c} vous avez 15 % de réduction.",
    link: "Lien dans la bio.",
    tags: &["#soinvisage", "#skincare", "#routine", "#beaute", "#peau"],
    lifestyle: &[
        "dimanche tranquille au bord du canal",
        "nouvel appartement, enfin installée",
    ],
    ambiguous: &["#partenariat", "merci à @{b}", "#collab", "#sp"],
    spoken_clear: "Publicité : cette vidéo est réalisée en collaboration commerciale avec {B}.",
    spoken_ambiguous: "Merci à {B} pour ce partenariat.",
    talk: &[
        "Aujourd'hui je vous montre toute ma routine du matin, étape par étape.",
        "D'abord je nettoie, puis j'applique le sérum sur la peau encore humide.",
    ],
    lookalikes: &["#publicitaire", "#adventure", "#adorable"],
};

const ES: Words = Words {
    hooks: &[
        "mi nueva rutina de la mañana con el sérum de {b}",
        "mi opinión sincera sobre {b} después de tres semanas",
        "cinco minutos de cuidado por la mañana con {b}",
    ],
    details: &[
        "Lo uso todas las mañanas desde hace tres semanas y mi piel está mucho más tranquila.",
        "Se lleva muy bien debajo del protector solar y se absorbe rápido.",
    ],
    code: "Con el código {c} tienes un 15 % de descuento.",
    link: "Enlace en la bio.",
    tags: &["#cuidadodelapiel", "#skincare", "#rutina", "#belleza"],
    lifestyle: &[
        "domingo tranquilo en la playa",
        "piso nuevo, por fin todo en su sitio",
    ],
    ambiguous: &["#colaboración", "gracias a @{b}", "#collab", "#sp"],
    spoken_clear: "Publicidad: este vídeo está patrocinado por {B}.",
    spoken_ambiguous: "Gracias a {B} por el apoyo.",
    talk: &[
        "Hoy os enseño toda mi rutina de la mañana, paso a paso.",
        "Primero limpio y luego aplico el sérum con la piel todavía húmeda.",
    ],
    lookalikes: &["#publicaciones", "#adventure", "#adorable"],
};

const IT: Words = Words {
    hooks: &[
        "la mia nuova routine del mattino con il siero di {b}",
        "la mia opinione sincera su {b} dopo tre settimane",
        "cinque minuti di cura al mattino con {b}",
    ],
    details: &[
        "Lo uso ogni mattina da tre settimane e la mia pelle è molto più calma, ad esempio sulle guance.",
        "Si mette bene sotto la crema solare e si assorbe in fretta, ad ogni applicazione.",
    ],
    code: "Con il codice {c} hai il 15% di sconto.",
    link: "Link in bio.",
    tags: &["#curadellapelle", "#skincare", "#routine", "#bellezza"],
    lifestyle: &[
        "domenica tranquilla al mare, ad agosto si sta bene",
        "casa nuova, finalmente tutto a posto",
    ],
    ambiguous: &["#collaborazione", "grazie a @{b}", "#collab", "#sp"],
    spoken_clear: "Pubblicità: questo video è sponsorizzato da {B}.",
    spoken_ambiguous: "Grazie a {B} per il supporto.",
    talk: &[
        "Oggi vi mostro tutta la mia routine del mattino, passo dopo passo.",
        "Prima pulisco, poi applico il siero sulla pelle ancora umida, ad esempio così.",
    ],
    lookalikes: &["#adriatico", "#adventure", "#advertisingagency"],
};

const NL: Words = Words {
    hooks: &[
        "mijn nieuwe ochtendroutine met het serum van {b}",
        "mijn eerlijke mening over {b} na drie weken",
    ],
    details: &[
        "Ik gebruik het nu drie weken elke ochtend en mijn huid is veel rustiger.",
        "Het werkt goed onder zonnebrand en trekt snel in.",
    ],
    code: "Met code {c} krijg je 15% korting.",
    link: "Link in bio.",
    tags: &["#huidverzorging", "#skincare", "#routine", "#beauty"],
    lifestyle: &[
        "rustige zondag aan het water",
        "nieuw huis, eindelijk alles uitgepakt",
    ],
    ambiguous: &["#samenwerking", "bedankt @{b}", "#collab", "#sp"],
    spoken_clear: "Advertentie: deze video is gemaakt in samenwerking met {B}.",
    spoken_ambiguous: "Bedankt {B} voor de steun.",
    talk: &[
        "Vandaag laat ik jullie mijn hele ochtendroutine zien, stap voor stap.",
        "Eerst reinig ik, daarna breng ik het serum aan op de nog vochtige huid.",
    ],
    lookalikes: &["#reclamebureau", "#adventure", "#adorable"],
};

fn words(lang: &str) -> &'static Words {
    match lang {
        "de" => &DE,
        "fr" => &FR,
        "es" => &ES,
        "it" => &IT,
        "nl" => &NL,
        _ => &EN,
    }
}

/// Labels every jurisdiction a post of this creator country and language
/// answers to accepts (the generator's own reading of the shipped rules:
/// the creator's country, the language's market, and the US audience).
fn clear_labels(country: &str, lang: &str) -> &'static [&'static str] {
    match (country, lang) {
        ("GB", _) => &["#ad", "Ad |", "Advert:", "Advertisement", "#advert"],
        ("CA", "fr") | ("FR", "fr") => &[
            "Publicité",
            "#publicité",
            "Collaboration commerciale avec @lumora",
        ],
        ("FR", _) => &["#publicité #ad", "#publicite #ad"],
        ("CA", _) => &[
            "#ad",
            "Sponsored",
            "#sponsored",
            "Paid partnership with @lumora",
        ],
        ("DE", "de") => &["Werbung", "Anzeige", "#werbung", "#anzeige"],
        ("DE", _) => &["#werbung #ad", "#anzeige #ad"],
        (_, "es") => &["Publicidad", "#publicidad", "#publi"],
        (_, "it") => &["#adv", "Pubblicità", "#pubblicità"],
        (_, "nl") => &["#reclame", "Advertentie", "#ad"],
        _ => &[
            "#ad",
            "Ad:",
            "#sponsored",
            "Sponsored",
            "Paid partnership with @lumora",
            "Advertisement",
            "#paid",
        ],
    }
}

/// What a creator says to disclose in a video: in English, the UK wants
/// "ad", not "sponsored".
fn spoken_clear(w: &Words, country: &str, lang: &str) -> &'static str {
    if lang == "en" && country != "US" && country != "CA" {
        "This video is an ad for {B}."
    } else {
        w.spoken_clear
    }
}

/// Labels that leave the post ambiguous under some jurisdiction and clear
/// under none.
fn ambiguous_labels(country: &str, lang: &str) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = words(lang)
        .ambiguous
        .iter()
        .copied()
        .filter(|l| !(lang == "nl" && *l == "#spon"))
        .collect();
    match (country, lang) {
        // The UK does not take "sponsored"; the US does.
        ("GB", "en") => v.extend(["#sponsored", "Sponsored"]),
        // Germany and France want their own words.
        ("DE", "en") => v.push("#ad"),
        ("FR", "en") => v.push("#ad"),
        _ => {}
    }
    v
}

fn language_of<R: Rng>(rng: &mut R, country: &str) -> &'static str {
    let u: f64 = rng.random();
    match country {
        "DE" => {
            if u < 0.8 {
                "de"
            } else {
                "en"
            }
        }
        "FR" => {
            if u < 0.85 {
                "fr"
            } else {
                "en"
            }
        }
        "CA" => {
            if u < 0.7 {
                "en"
            } else {
                "fr"
            }
        }
        "US" => {
            if u < 0.78 {
                "en"
            } else if u < 0.88 {
                "es"
            } else if u < 0.94 {
                "it"
            } else {
                "nl"
            }
        }
        _ => "en",
    }
}

/// Stylised forms a label (or word) is written in.
fn stylise<R: Rng>(rng: &mut R, s: &str) -> String {
    const SMALL: [char; 26] = [
        'ᴀ', 'ʙ', 'ᴄ', 'ᴅ', 'ᴇ', 'ꜰ', 'ɢ', 'ʜ', 'ɪ', 'ᴊ', 'ᴋ', 'ʟ', 'ᴍ', 'ɴ', 'ᴏ', 'ᴘ', 'q', 'ʀ',
        'ꜱ', 'ᴛ', 'ᴜ', 'ᴠ', 'ᴡ', 'x', 'ʏ', 'ᴢ',
    ];
    let style = rng.random_range(0..4);
    s.chars()
        .map(|c| {
            let lower = c.to_ascii_lowercase();
            match style {
                // Mathematical bold.
                0 if c.is_ascii_lowercase() => char::from_u32(0x1D41A + (c as u32 - 'a' as u32))
                    .unwrap_or(c)
                    .to_string(),
                0 if c.is_ascii_uppercase() => char::from_u32(0x1D400 + (c as u32 - 'A' as u32))
                    .unwrap_or(c)
                    .to_string(),
                // Full width.
                1 if c.is_ascii_graphic() => char::from_u32(c as u32 - 0x21 + 0xFF01)
                    .unwrap_or(c)
                    .to_string(),
                // Small capitals.
                2 if lower.is_ascii_lowercase() => SMALL[(lower as u8 - b'a') as usize].to_string(),
                // Zero-width spaces between letters.
                3 if c.is_alphabetic() => format!("{c}\u{200B}"),
                _ => c.to_string(),
            }
        })
        .collect::<String>()
        .trim_end_matches('\u{200B}')
        .to_string()
}

fn fill(s: &str, code: Option<&str>) -> String {
    let brand = {
        let mut c = BRAND.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    s.replace("{b}", &brand)
        .replace("{B}", &brand)
        .replace("{c}", code.unwrap_or(""))
}

fn pick<'a, R: Rng>(rng: &mut R, v: &'a [&'static str]) -> &'static str {
    v.choose(rng).copied().unwrap_or("")
}

/// Writes every post's caption, transcript, language, codes and planted
/// truth; returns the retired codes to add to `codes`.
pub fn write(
    posts: &mut [Post],
    creators: &[Creator],
    campaigns: &[Campaign],
    seed: u64,
    start: DateTime<Utc>,
) -> Vec<RetiredCode> {
    let _ = campaigns;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xD15C_105E);
    let langs: Vec<&'static str> = creators
        .iter()
        .map(|c| language_of(&mut rng, c.country))
        .collect();
    let mut retired = Vec::new();
    for (i, c) in creators.iter().enumerate() {
        if let Some(code) = &c.code
            && c.joined_at < start - Duration::days(60)
            && rng.random_bool(0.2)
        {
            retired.push(RetiredCode {
                creator: i,
                code: format!("{code}OLD"),
                valid_from: c.joined_at,
                valid_to: start - Duration::days(30),
            });
        }
    }
    let coded: Vec<usize> = (0..creators.len())
        .filter(|&i| creators[i].code.is_some())
        .collect();
    let linked: Vec<(usize, String)> = posts
        .iter()
        .filter_map(|p| p.link_id.clone().map(|l| (p.creator, l)))
        .collect();
    // (creator, campaign, link): a creator's links made for a campaign.
    let campaign_links: Vec<(usize, usize, String)> = posts
        .iter()
        .filter_map(|p| Some((p.creator, p.campaign?, p.link_id.clone()?)))
        .collect();
    for p in posts.iter_mut() {
        let c = &creators[p.creator];
        let lang = langs[p.creator];
        let w = words(lang);
        let spoken_required = matches!(p.format, "video" | "episode" | "live");
        let brand = p.campaign.is_some() || p.link_id.is_some() || rng.random_bool(0.5);
        let class = if !brand {
            Disclosure::NotRequired
        } else if p.campaign.is_some() {
            p.disclosure
        } else {
            match rng.random_range(0..100) {
                0..=59 => Disclosure::Clear,
                60..=74 => Disclosure::Buried,
                75..=87 => Disclosure::Ambiguous,
                _ => Disclosure::Missing,
            }
        };
        p.disclosure = class;
        p.features_brand = brand;
        p.caption_language = lang;
        p.language = rng.random_bool(0.6).then_some(lang);
        p.promo_codes.clear();
        p.planted_flags.clear();
        p.lookalikes = false;
        p.stylised = false;
        let has_transcript =
            spoken_required || (matches!(p.format, "reel" | "short") && rng.random_bool(0.4));

        // The body: what the post says, in the creator's language.
        let mut body: Vec<String> = Vec::new();
        if brand {
            body.push(fill(pick(&mut rng, w.hooks), None) + ".");
            if c.code.is_some() && rng.random_bool(0.7) {
                let code = c.code.clone().unwrap_or_default();
                body.push(fill(w.code, Some(&code)));
                p.promo_codes.push(code);
            }
            if p.link_id.is_some() {
                if rng.random_bool(0.3) {
                    body.push(format!(
                        "Shop: {}",
                        short_url(p.link_id.as_deref().unwrap_or_default())
                    ));
                } else {
                    body.push(w.link.to_string());
                }
            }
            // Planted link and code findings.
            if rng.random_bool(0.06) {
                let sku = p
                    .skus_shown
                    .first()
                    .cloned()
                    .unwrap_or_default()
                    .to_lowercase();
                let url = format!("https://{BRAND}.com/products/{sku}");
                body.push(format!("Shop: {url}"));
                p.planted_flags.push(("untracked_link", url));
            }
            if rng.random_bool(0.04) {
                let others: Vec<usize> =
                    coded.iter().copied().filter(|&o| o != p.creator).collect();
                if let Some(&o) = others.choose(&mut rng) {
                    let code = creators[o].code.clone().unwrap_or_default();
                    body.push(format!("({code} works too!)"));
                    p.promo_codes.push(code.clone());
                    p.planted_flags.push(("code_owner", code));
                }
            }
            if let Some(r) = retired.iter().find(|r| r.creator == p.creator)
                && rng.random_bool(0.25)
            {
                body.push(format!("Old code {} still works!", r.code));
                p.promo_codes.push(r.code.clone());
                p.planted_flags.push(("code_validity", r.code.clone()));
            }
            if rng.random_bool(0.03) {
                let others: Vec<&(usize, String)> =
                    linked.iter().filter(|(o, _)| *o != p.creator).collect();
                if let Some((_, l)) = others.choose(&mut rng) {
                    body.push(format!(
                        "Also: {}",
                        short_url(l).trim_start_matches("https://")
                    ));
                    p.planted_flags.push(("link_owner", l.clone()));
                }
            }
            // The creator's own link, but made for another campaign.
            if let Some(k) = p.campaign
                && rng.random_bool(0.08)
            {
                let others: Vec<&(usize, usize, String)> = campaign_links
                    .iter()
                    .filter(|(o, c, _)| *o == p.creator && *c != k)
                    .collect();
                if let Some((_, _, l)) = others.choose(&mut rng) {
                    body.push(format!("Shop the look: {}", short_url(l)));
                    p.planted_flags.push(("link_campaign", l.clone()));
                }
            }
        } else {
            body.push(pick(&mut rng, w.lifestyle).to_string() + ".");
        }
        let n = rng.random_range(2..6);
        let mut tags: Vec<String> = w
            .tags
            .choose_multiple(&mut rng, n)
            .map(|t| t.to_string())
            .collect();
        if rng.random_bool(0.35) {
            p.lookalikes = true;
            let n = rng.random_range(1..3);
            for l in w.lookalikes.choose_multiple(&mut rng, n) {
                if l.starts_with('#') {
                    tags.insert(rng.random_range(0..=tags.len()), l.to_string());
                } else {
                    body.insert(0, l.to_string());
                }
            }
        }
        if lang == "it" {
            p.lookalikes = true;
        }

        // The label, where the class puts it.
        let mut label = |rng: &mut ChaCha8Rng, list: &[&'static str]| -> String {
            let l = pick(rng, list).replace("{b}", BRAND);
            if rng.random_bool(0.15) {
                p.stylised = true;
                stylise(rng, &l)
            } else {
                l
            }
        };
        let mut transcript: Option<String> = has_transcript.then(|| {
            w.talk
                .choose_multiple(&mut rng, 2)
                .map(|s| fill(s, None))
                .collect::<Vec<_>>()
                .join(" ")
        });
        let front = body.join(" ");
        // A German or French creator's English video: said in English, the
        // label satisfies the US but not the home market, whose word is
        // only written (in the description): buried at home.
        let two_labels = spoken_required && lang == "en" && matches!(c.country, "DE" | "FR");
        if two_labels && class == Disclosure::Clear {
            p.disclosure = Disclosure::Buried;
        }
        let caption = match class {
            Disclosure::Clear => {
                if spoken_required {
                    let t = transcript.take().unwrap_or_default();
                    transcript = Some(format!(
                        "{} {t}",
                        fill(spoken_clear(w, c.country, lang), None)
                    ));
                    if two_labels || rng.random_bool(0.5) {
                        format!(
                            "{} {front} {}",
                            label(&mut rng, clear_labels(c.country, lang)),
                            tags.join(" ")
                        )
                    } else {
                        format!("{front} {}", tags.join(" "))
                    }
                } else if transcript.is_some() && rng.random_bool(0.3) {
                    // Said early in the video only.
                    let t = transcript.take().unwrap_or_default();
                    transcript = Some(format!(
                        "{} {t}",
                        fill(spoken_clear(w, c.country, lang), None)
                    ));
                    format!("{front} {}", tags.join(" "))
                } else {
                    format!(
                        "{} {front} {}",
                        label(&mut rng, clear_labels(c.country, lang)),
                        tags.join(" ")
                    )
                }
            }
            Disclosure::Buried => {
                let l = label(&mut rng, clear_labels(c.country, lang));
                if spoken_required {
                    if transcript.is_some() && rng.random_bool(0.5) {
                        // Spoken, but only at the end.
                        let filler = w
                            .talk
                            .iter()
                            .map(|s| fill(s, None))
                            .collect::<Vec<_>>()
                            .join(" ");
                        let long = std::iter::repeat_n(filler, 6).collect::<Vec<_>>().join(" ");
                        transcript = Some(format!(
                            "{long} {}",
                            fill(spoken_clear(w, c.country, lang), None)
                        ));
                        format!("{front} {}", tags.join(" "))
                    } else {
                        // Only in the description.
                        format!("{l} {front} {}", tags.join(" "))
                    }
                } else {
                    // A story shows all its text: only the hashtags can bury.
                    let way = if p.format == "story" {
                        2
                    } else {
                        rng.random_range(0..3)
                    };
                    match way {
                        0 => {
                            let details: Vec<String> =
                                std::iter::repeat_with(|| pick(&mut rng, w.details).to_string())
                                    .take(8)
                                    .collect();
                            format!("{front} {} {l} {}", details.join(" "), tags.join(" "))
                        }
                        1 if matches!(p.platform, "instagram" | "tiktok") => {
                            format!(
                                "{front}\n{}\n{}\n{l}",
                                pick(&mut rng, w.details),
                                tags.join(" ")
                            )
                        }
                        _ => {
                            let hashed: Vec<&'static str> = clear_labels(c.country, lang)
                                .iter()
                                .copied()
                                .filter(|x| x.starts_with('#'))
                                .collect();
                            let l = if l.starts_with('#') || l.starts_with('＃') {
                                l
                            } else {
                                label(&mut rng, &hashed)
                            };
                            let mut t = tags.clone();
                            while t.iter().filter(|x| x.starts_with('#')).count() < 3 {
                                t.push(pick(&mut rng, w.tags).to_string());
                            }
                            let at = rng.random_range(1..=t.len());
                            t.insert(at, l);
                            format!("{front} {}", t.join(" "))
                        }
                    }
                }
            }
            Disclosure::Ambiguous => {
                let list = ambiguous_labels(c.country, lang);
                let l = label(&mut rng, &list);
                if spoken_required && transcript.is_some() && rng.random_bool(0.4) {
                    let t = transcript.take().unwrap_or_default();
                    transcript = Some(format!("{} {t}", fill(w.spoken_ambiguous, None)));
                    format!("{front} {}", tags.join(" "))
                } else {
                    format!("{l} {front} {}", tags.join(" "))
                }
            }
            Disclosure::Missing | Disclosure::NotRequired => format!("{front} {}", tags.join(" ")),
        };
        p.caption = caption;
        p.transcript = transcript;
    }
    retired
}
