"""Vocabulary for the data generator: Brazilian places, courses, universities, subjects, pages.

Kept apart from `generate.py` so the generator reads as logic; the lists are plain data. Weights
are rough shares of the real population or of the case study's event counts, not exact figures.
"""

from __future__ import annotations

# (full name, UF, population in millions, 2017): all 27 federative units.
STATES: list[tuple[str, str, float]] = [
    ("São Paulo", "SP", 45.1), ("Minas Gerais", "MG", 21.1), ("Rio de Janeiro", "RJ", 16.7),
    ("Bahia", "BA", 15.3), ("Rio Grande do Sul", "RS", 11.3), ("Paraná", "PR", 11.3),
    ("Pernambuco", "PE", 9.5), ("Ceará", "CE", 9.0), ("Pará", "PA", 8.4),
    ("Maranhão", "MA", 7.0), ("Santa Catarina", "SC", 7.0), ("Goiás", "GO", 6.8),
    ("Amazonas", "AM", 4.1), ("Espírito Santo", "ES", 4.0), ("Paraíba", "PB", 4.0),
    ("Rio Grande do Norte", "RN", 3.5), ("Mato Grosso", "MT", 3.3), ("Alagoas", "AL", 3.4),
    ("Piauí", "PI", 3.2), ("Distrito Federal", "DF", 3.0), ("Mato Grosso do Sul", "MS", 2.7),
    ("Sergipe", "SE", 2.3), ("Rondônia", "RO", 1.8), ("Tocantins", "TO", 1.6),
    ("Acre", "AC", 0.8), ("Amapá", "AP", 0.8), ("Roraima", "RR", 0.5),
]  # fmt: skip

# Cities per UF, capital first (the capital gets the largest share of each state's students).
CITIES: dict[str, list[str]] = {
    "SP": ["São Paulo", "Campinas", "Santos", "São José dos Campos", "Ribeirão Preto", "Sorocaba",
           "Guarulhos", "São Bernardo do Campo", "Osasco", "Bauru"],
    "MG": ["Belo Horizonte", "Uberlândia", "Juiz de Fora", "Contagem", "Montes Claros", "Uberaba",
           "Governador Valadares", "Ipatinga"],
    "RJ": ["Rio de Janeiro", "Niterói", "Nova Iguaçu", "Duque de Caxias", "São Gonçalo",
           "Petrópolis", "Volta Redonda", "Campos dos Goytacazes"],
    "BA": ["Salvador", "Feira de Santana", "Vitória da Conquista", "Camaçari", "Ilhéus", "Itabuna"],
    "RS": ["Porto Alegre", "Caxias do Sul", "Pelotas", "Canoas", "Santa Maria", "Passo Fundo"],
    "PR": ["Curitiba", "Londrina", "Maringá", "Ponta Grossa", "Cascavel", "Foz do Iguaçu"],
    "PE": ["Recife", "Jaboatão dos Guararapes", "Olinda", "Caruaru", "Petrolina", "Paulista"],
    "CE": ["Fortaleza", "Caucaia", "Juazeiro do Norte", "Sobral", "Maracanaú"],
    "PA": ["Belém", "Ananindeua", "Santarém", "Marabá", "Castanhal"],
    "MA": ["São Luís", "Imperatriz", "Caxias", "Timon", "Bacabal"],
    "SC": ["Florianópolis", "Joinville", "Blumenau", "São José", "Chapecó", "Itajaí", "Criciúma"],
    "GO": ["Goiânia", "Aparecida de Goiânia", "Anápolis", "Rio Verde", "Luziânia"],
    "AM": ["Manaus", "Parintins", "Itacoatiara", "Manacapuru"],
    "ES": ["Vitória", "Vila Velha", "Serra", "Cariacica", "Cachoeiro de Itapemirim"],
    "PB": ["João Pessoa", "Campina Grande", "Santa Rita", "Patos"],
    "RN": ["Natal", "Mossoró", "Parnamirim", "Caicó"],
    "MT": ["Cuiabá", "Várzea Grande", "Rondonópolis", "Sinop"],
    "AL": ["Maceió", "Arapiraca", "Palmeira dos Índios"],
    "PI": ["Teresina", "Parnaíba", "Picos"],
    "DF": ["Brasília", "Taguatinga", "Ceilândia", "Águas Claras"],
    "MS": ["Campo Grande", "Dourados", "Três Lagoas", "Corumbá"],
    "SE": ["Aracaju", "Nossa Senhora do Socorro", "Lagarto", "Itabaiana"],
    "RO": ["Porto Velho", "Ji-Paraná", "Ariquemes", "Vilhena"],
    "TO": ["Palmas", "Araguaína", "Gurupi"],
    "AC": ["Rio Branco", "Cruzeiro do Sul"],
    "AP": ["Macapá", "Santana"],
    "RR": ["Boa Vista", "Rorainópolis"],
}  # fmt: skip

# Courses in popularity order; the first weights are the case study's event counts per custom_2.
TOP_COURSES: list[tuple[str, int]] = [
    ("Direito", 96020), ("Administração", 53755), ("Engenharia Civil", 33256),
    ("Pedagogia", 32081), ("Ciências Contábeis", 30788), ("Fisioterapia", 19321),
    ("Psicologia", 17719), ("Nutrição", 16534), ("Enfermagem e Obstetrícia", 14978),
    ("Engenharia de Produção", 14371), ("Educação Física", 10913),
    ("Gestão de Recursos Humanos", 10249), ("Análise e Desenvolvimento de Sistemas", 10028),
]  # fmt: skip
TAIL_COURSES: list[str] = [
    "Medicina", "Farmácia", "Biomedicina", "Arquitetura e Urbanismo", "Engenharia Elétrica",
    "Engenharia Mecânica", "Engenharia Química", "Engenharia de Computação",
    "Ciência da Computação", "Sistemas de Informação", "Odontologia", "Medicina Veterinária",
    "Jornalismo",
    "Publicidade e Propaganda", "Ciências Econômicas", "Serviço Social", "Letras", "História",
    "Geografia", "Matemática", "Física", "Química", "Ciências Biológicas", "Filosofia",
    "Ciências Sociais", "Relações Internacionais", "Marketing", "Logística", "Gestão Financeira",
    "Gestão Comercial", "Gastronomia", "Turismo", "Design Gráfico", "Design de Moda", "Música",
    "Teatro", "Artes Visuais", "Agronomia", "Zootecnia", "Engenharia Ambiental",
    "Engenharia de Alimentos", "Engenharia Florestal", "Geologia", "Estatística", "Biotecnologia",
    "Fonoaudiologia", "Terapia Ocupacional", "Radiologia", "Estética e Cosmética",
    "Segurança do Trabalho", "Redes de Computadores", "Gestão Pública", "Processos Gerenciais",
    "Secretariado Executivo", "Comércio Exterior", "Biblioteconomia", "Arquivologia", "Museologia",
    "Oceanografia", "Meteorologia", "Engenharia Aeronáutica", "Engenharia Naval",
    "Engenharia de Petróleo", "Engenharia de Minas", "Engenharia Mecatrônica",
    "Engenharia de Software", "Teologia", "Cinema e Audiovisual", "Fotografia", "Gestão Hospitalar",
    "Gestão Ambiental", "Ciências Atuariais", "Nutrição Esportiva", "Engenharia Agrícola",
    "Engenharia Biomédica", "Engenharia de Controle e Automação", "Enfermagem",
]  # fmt: skip
COURSE_VARIANTS = ["", " (EAD)", " - Licenciatura", " - Bacharelado", " - Tecnológico",
                   " (Noturno)", " (Integral)"]  # fmt: skip

# Large private groups first (they dominate sign-ups), then "<kind> de <place>" names.
NAMED_UNIVERSITIES = [
    "Universidade Paulista", "Universidade Estácio de Sá", "Universidade Anhanguera",
    "Universidade Norte do Paraná", "Universidade Nove de Julho",
    "Centro Universitário Internacional", "Universidade Cruzeiro do Sul",
    "Universidade Presbiteriana Mackenzie",
    "Pontifícia Universidade Católica de São Paulo", "Universidade de São Paulo",
    "Universidade Federal do Rio de Janeiro", "Universidade Salgado de Oliveira",
    "Universidade Potiguar", "Universidade Tiradentes", "Universidade de Fortaleza",
    "Universidade Veiga de Almeida", "Universidade Federal de Minas Gerais",
    "Pontifícia Universidade Católica do Paraná", "Universidade do Vale do Rio dos Sinos",
    "Universidade Católica de Brasília",
]  # fmt: skip
UNIVERSITY_KINDS = [
    "Universidade Federal", "Universidade Estadual", "Centro Universitário", "Faculdade",
    "Faculdades Integradas", "Instituto Federal", "Faculdade de Tecnologia",
    "Faculdade de Ciências Médicas", "Faculdade de Direito", "Universidade Católica",
    "Instituto de Ensino Superior", "Faculdade de Educação", "Faculdade de Engenharia",
    "Centro de Ensino Superior", "Universidade Municipal", "Escola Superior de Ciências",
]  # fmt: skip

SUBJECT_BASES = [
    "Cálculo", "Álgebra Linear", "Física", "Química Geral", "Direito Civil", "Direito Penal",
    "Direito Constitucional", "Direito Administrativo", "Direito Tributário", "Direito do Trabalho",
    "Direito Processual Civil", "Direito Processual Penal", "Introdução ao Estudo do Direito",
    "Anatomia Humana", "Fisiologia", "Bioquímica", "Microbiologia", "Farmacologia", "Histologia",
    "Patologia", "Contabilidade Geral", "Contabilidade de Custos", "Matemática Financeira",
    "Estatística", "Economia", "Administração Financeira", "Gestão de Pessoas", "Marketing",
    "Metodologia Científica", "Sociologia", "Filosofia", "Psicologia do Desenvolvimento",
    "Didática", "Libras", "Língua Portuguesa", "Resistência dos Materiais", "Mecânica dos Sólidos",
    "Fenômenos de Transporte", "Hidráulica", "Topografia", "Desenho Técnico", "Concreto Armado",
    "Algoritmos", "Estruturas de Dados", "Banco de Dados", "Programação Orientada a Objetos",
    "Engenharia de Software", "Redes de Computadores", "Sistemas Operacionais", "Nutrição Clínica",
    "Saúde Coletiva", "Semiologia", "Cinesiologia", "Ética Profissional", "Psicopatologia",
    "Teoria Geral da Administração", "Pesquisa Operacional", "Eletricidade", "Termodinâmica",
    "Genética", "Imunologia", "Parasitologia", "Avaliação Nutricional", "Educação Inclusiva",
]  # fmt: skip
SUBJECT_LEVELS = ["", " I", " II", " III", " IV", " Aplicada", " Avançada"]

SIGNUP_SOURCES = [
    ("Google", 40),
    ("Facebook", 35),
    ("Email", 15),
    ("Indicação", 6),
    ("Orgânico", 4),
]
PLAN_TYPES = [("Mensal", 70), ("Semestral", 12), ("Anual", 18)]
CLIENTS = [("Website", 35), ("Webapp", 25), ("Android", 30), ("iOS", 10)]

# custom_4: the documented profiles, then the strays and the unspaced spellings (small weights).
PROFILES = [("Core User", 24), ("Casual User", 30), ("Cold User", 18), ("New User", 14),
            ("unknown", 11), ("yes", 1), ("CoreUser", 1), ("CasualUser", 1)]  # fmt: skip

# Foreign visitors: two-letter lower-case codes with rough shares; "US" is the odd upper-case one.
COUNTRIES = [("pt", 22), ("us", 20), ("ar", 8), ("es", 7), ("fr", 6), ("de", 5), ("jp", 5),
             ("mx", 5), ("co", 4), ("cl", 4), ("it", 4), ("gb", 4), ("py", 3), ("ao", 3),
             ("mz", 2), ("ca", 2), ("uy", 2), ("US", 1)]  # fmt: skip

# Pages: (Page Name, Page Category, Page Category 1, url path, has an id, weight).
PAGES = [
    ("Arquivo", "Material", "Resumo", "/arquivo/", True, 30),
    ("Arquivo", "Material", "Exercício", "/arquivo/", True, 14),
    ("Arquivo", "Material", "Prova", "/arquivo/", True, 8),
    ("Disciplina", "Disciplina", "Materiais", "/disciplina/", True, 12),
    ("Busca", "Busca", "Resultados", "/busca/", False, 12),
    ("Home", "Home", "Início", "/", False, 9),
    ("Pergunta", "Perguntas", "Resposta", "/pergunta/", True, 6),
    ("Perfil", "Usuário", "Perfil", "/perfil/", True, 4),
    ("Assinatura", "Premium", "Planos", "/planos/", False, 2),
    ("Cadastro", "Conta", "Cadastro", "/cadastro/", False, 2),
    ("Login", "Conta", "Entrar", "/login/", False, 1),
]  # fmt: skip
MATERIAL_ACCESS = ["Gratuito", "Premium"]

BROWSERS = [("Chrome", 70), ("Safari", 10), ("Firefox", 8), ("Edge", 5), ("Samsung Internet", 4),
            ("Opera", 3)]  # fmt: skip
CARRIERS = [("Vivo", 35), ("Claro", 27), ("TIM", 25), ("Oi", 13)]
MODELS = {"Android": ["SM-G930F", "Moto G (5)", "Moto G (4)", "SM-J710MN", "ASUS_X00AD", "LG-K430"],
          "iOS": ["iPhone 6", "iPhone 6s", "iPhone 7", "iPhone 8", "iPhone X", "iPad"]}  # fmt: skip
OS_VERSIONS = {"Web": ["Windows 10", "Windows 7", "Windows 8.1", "Mac OS X 10.13", "Linux",
                       "Android 7.0"],
               "Android": ["7.0", "7.1.1", "6.0.1", "8.0.0", "5.1.1"],
               "iOS": ["11.1", "11.0.3", "10.3.3", "11.2"]}  # fmt: skip
LIBRARY_VERSIONS = {"Web": "web-2.14.1", "Android": "android-4.12.0", "iOS": "ios-3.8.2"}
LANGUAGES = [("pt-BR", 88), ("pt", 6), ("en-US", 3), ("es", 2), ("pt-PT", 1)]
# (source, medium, campaign): who sent the visitor; most visits carry none of the three keys.
MARKETING = [
    ("google", "cpc", "vestibular-2018"),
    ("facebook", "social", "black-friday"),
    ("newsletter", "email", "novembro-premium"),
    ("instagram", "social", "enem-2017"),
]
LANDING_PAGES = ["https://www.passeidireto.com/", "https://www.passeidireto.com/busca",
                 "https://www.passeidireto.com/arquivo", "https://www.passeidireto.com/disciplina",
                 "https://www.google.com.br/", "https://m.facebook.com/"]  # fmt: skip


def course_names(count: int) -> list[str]:
    """`count` unique course names, the documented top courses first."""
    bases = [name for name, _ in TOP_COURSES] + TAIL_COURSES
    names = [base + variant for variant in COURSE_VARIANTS for base in bases]
    names += [f"Curso Livre {i}" for i in range(1, count - len(names) + 1)]
    return names[:count]


def university_names(count: int) -> list[str]:
    """`count` unique university names: the big groups, then kinds crossed with places."""
    places = [s for s, _, _ in STATES] + [c for cities in CITIES.values() for c in cities[1:]]
    generated = [f"{kind} {_preposition(p)} {p}" for p in places for kind in UNIVERSITY_KINDS]
    names = list(dict.fromkeys(NAMED_UNIVERSITIES + generated))
    names += [f"Faculdade Regional {i}" for i in range(1, count - len(names) + 1)]
    return names[:count]


def subject_names() -> list[str]:
    """Subject names; real catalogues repeat them across universities, so ids reuse them."""
    return [base + level for level in SUBJECT_LEVELS for base in SUBJECT_BASES]


def _preposition(place: str) -> str:
    """ "do Rio de Janeiro", "da Bahia", "de São Paulo": close enough to real usage."""
    if place.startswith(("Rio ", "Paraná", "Pará", "Maranhão", "Amazonas", "Espírito", "Ceará",
                         "Piauí", "Tocantins", "Acre", "Amapá", "Mato", "Distrito")):  # fmt: skip
        return "do"
    return "da" if place in {"Bahia", "Paraíba"} else "de"
